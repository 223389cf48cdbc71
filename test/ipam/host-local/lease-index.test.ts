import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IP, parseIP } from '../../../src/net/ip.ts';
import { readIndex, readIntent, writeIndex, writeIntent } from '../../../src/ipam/host-local/index-file.ts';
import { KeyTable, LeaseIndex, ownerHash } from '../../../src/ipam/host-local/lease-index.ts';
import { tempDir } from '../../helpers/tmp.ts';

const ip = (s: string): IP => parseIP(s)!;
const stamp = { ino: 123456789012n, mtimeNs: 1_700_000_000_123_456_789n, ctimeNs: 1_700_000_001_987_654_321n };

describe('KeyTable', () => {
  // Random inserts and deletes against a plain Map as the model.
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), v: fc.bigInt({ min: 0n, max: 300n }), h: fc.nat() }),
    fc.record({ kind: fc.constant('delete' as const), v: fc.bigInt({ min: 0n, max: 300n }), h: fc.constant(0) }),
  );
  for (const width of [1, 4] as const) {
    it(`keeps width-${width} keys sorted and answers runs and counts like a map would`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 200 }), fc.bigInt({ min: 0n, max: 300n }), (ops, probe) => {
          const base = width === 4 ? (1n << 64n) - 150n : 0n; // crosses a 32-bit word boundary
          const t = KeyTable.empty(width);
          const model = new Map<bigint, number>();
          for (const o of ops) {
            if (o.kind === 'set') {
              t.set(base + o.v, o.h >>> 0);
              model.set(base + o.v, o.h >>> 0);
            } else {
              expect(t.delete(base + o.v)).toBe(model.delete(base + o.v));
            }
          }
          const keys = [...model.keys()].sort((a, b) => (a < b ? -1 : 1));
          expect(Array.from({ length: t.length }, (_, i) => t.keyAt(i))).toEqual(keys);
          expect(Array.from({ length: t.length }, (_, i) => t.hashes[i])).toEqual(keys.map((k) => model.get(k)));
          let end: bigint | undefined;
          if (model.has(base + probe)) {
            end = base + probe;
            while (model.has(end + 1n)) end++;
          }
          expect(t.runEnd(base + probe)).toBe(end);
          expect(t.countIn(base + probe, base + probe + 20n)).toBe(keys.filter((k) => k >= base + probe && k <= base + probe + 20n).length);
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('index files', () => {
  const sample = () =>
    LeaseIndex.build(
      [
        { ip: ip('10.0.0.2'), hash: ownerHash('a\r\neth0') },
        { ip: ip('10.0.0.3'), hash: ownerHash('b\r\neth0') },
        { ip: ip('2001:db8::2'), hash: ownerHash('a\r\neth0') },
      ],
      stamp,
    );

  it('read back what was written, newest slot first', () => {
    const dir = tempDir();
    const idx = sample();
    writeIndex(dir, idx);
    idx.set(ip('10.0.0.9'), 7);
    idx.stamp = { ...stamp, ctimeNs: stamp.ctimeNs + 1n };
    writeIndex(dir, idx);
    const back = readIndex(dir)!;
    expect(back.stamp).toEqual(idx.stamp);
    expect([...back.entries()]).toEqual([...idx.entries()]);
    expect(back.withOwnerHash([ownerHash('a\r\neth0')])).toEqual([ip('10.0.0.2'), ip('2001:db8::2')]);
  });

  it('fall back to the other slot when the newest is torn', () => {
    const dir = tempDir();
    const idx = sample();
    writeIndex(dir, idx);
    const older = [...idx.entries()];
    idx.set(ip('10.0.0.200'), 1);
    writeIndex(dir, idx);
    // A write killed half-way: the header is new, the end is what was there before.
    const newest = path.join(dir, `index.${idx.slot}`);
    const bytes = fs.readFileSync(newest);
    fs.writeFileSync(newest, Buffer.concat([bytes.subarray(0, 64), Buffer.alloc(bytes.length - 64)]));
    expect([...readIndex(dir)!.entries()]).toEqual(older);
    fs.writeFileSync(path.join(dir, `index.${idx.slot === 0 ? 1 : 0}`), 'garbage');
    expect(readIndex(dir)).toBeUndefined();
  });

  it('distrust a slot written in another boot', () => {
    const dir = tempDir();
    const idx = sample();
    writeIndex(dir, idx);
    const file = path.join(dir, `index.${idx.slot}`);
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32LE((bytes.readUInt32LE(48) ^ 1) >>> 0, 48);
    fs.writeFileSync(file, bytes);
    expect(readIndex(dir)).toBeUndefined();
  });

  it('use a checksum instead where the system has no boot ID', () => {
    const dir = tempDir();
    const idx = sample();
    writeIndex(dir, idx, null);
    expect([...readIndex(dir, null)!.entries()]).toEqual([...sample().entries()]);
    const file = path.join(dir, `index.${idx.slot}`);
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32LE((bytes.readUInt32LE(70) ^ 0x100) >>> 0, 70);
    fs.writeFileSync(file, bytes);
    expect(readIndex(dir, null)).toBeUndefined();
  });

  it('never shrink a slot file, so a smaller index leaves a longer file that still reads right', () => {
    const dir = tempDir();
    const idx = sample();
    for (let i = 0; i < 100; i++) idx.set({ family: 4, value: 0x0b000000n + BigInt(i) }, i);
    writeIndex(dir, idx);
    writeIndex(dir, idx);
    for (let i = 0; i < 100; i++) idx.delete({ family: 4, value: 0x0b000000n + BigInt(i) });
    writeIndex(dir, idx);
    expect([...readIndex(dir)!.entries()]).toEqual([...sample().entries()]);
  });

  it('keep an intent, and give nothing for a torn one', () => {
    const dir = tempDir();
    expect(readIntent(dir)).toBeUndefined();
    writeIntent(dir, { base: stamp, ips: [ip('10.0.0.2'), ip('2001:db8::ff')] });
    expect(readIntent(dir)).toEqual({ base: stamp, ips: [ip('10.0.0.2'), ip('2001:db8::ff')] });
    writeIntent(dir, { base: stamp, ips: [] });
    expect(readIntent(dir)).toEqual({ base: stamp, ips: [] });
    fs.writeFileSync(path.join(dir, 'intent'), Buffer.from([40, 0, 0, 0, 123]));
    expect(readIntent(dir)).toBeUndefined();
  });
});
