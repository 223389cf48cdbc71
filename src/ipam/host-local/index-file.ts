import fs from 'node:fs';
import path from 'node:path';
import { withPath } from '../../cni/oserror.ts';
import { openRegularFile } from '../../cni/regular-file.ts';
import type { IP } from '../../net/ip.ts';
import { type DirStamp, KeyTable, LeaseIndex } from './lease-index.ts';

// The lease index on disk: a cache of the store, never a second truth.
// Two slot files (index.0, index.1) are written alternately in place, so a
// save never frees disk blocks (rename-over and truncation cost milliseconds
// on a discard-mounted ext4) and a process killed mid-write leaves the other
// slot intact. Each slot records the stamp of the network folder it
// describes. Telling a good slot from a bad one costs O(1), not a pass over
// the data:
// - a write killed half-way: the kernel copies a write front to back, so the
//   generation in the trailer, written last, does not match the header's;
// - a crash of the machine, which can persist pages in any order: the slot
//   records the kernel's boot ID and is not trusted in a later boot. Where
//   there is no boot ID (not Linux), a checksum over the slot does that job.
//
// Layout, 32-bit little-endian words: a 16-word header
//   0 magic, 1 format, 2 generation, 3 checksum (0 when a boot ID is used),
//   4-5 folder inode, 6-7 mtime ns, 8-9 ctime ns, 10 IPv4 count,
//   11 IPv6 count, 12-15 boot ID
// then IPv4 keys, IPv4 owner hashes, IPv6 keys (4 words each, most
// significant first), IPv6 owner hashes, and a 2-word trailer: magic, generation.

const MAGIC = 0x32584657; // "WFX2"
const FORMAT = 2;
const HEADER_WORDS = 16;
const HEADER_BYTES = HEADER_WORDS * 4;
const TRAILER_WORDS = 2;

const slotFile = (stateDir: string, slot: number) => path.join(stateDir, `index.${slot}`);

/**
 * Open one of weft's own files for writing in place. Anything but a regular
 * file in its place (a directory, a pipe, a device) can only be damage: weft
 * never makes one there, so it is removed and the file made anew.
 */
function openForWrite(file: string): number {
  // Non-blocking: a FIFO without a reader fails (ENXIO) instead of stalling.
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | (fs.constants.O_NONBLOCK ?? 0);
  try {
    const fd = fs.openSync(file, flags, 0o600);
    if (fs.fstatSync(fd).isFile()) return fd;
    fs.closeSync(fd);
  } catch (e) {
    if (!['EISDIR', 'ENXIO'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  fs.rmSync(file, { recursive: true, force: true });
  return fs.openSync(file, flags | fs.constants.O_EXCL, 0o600);
}

/** Write all of `bytes` at `position`: a short write (a disk filling up) ends in the error that stopped it. */
function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off, position + off);
}

let bootIdWords: Uint32Array | null | undefined;

/** The kernel's boot ID as 4 words, or null where there is none. */
function bootId(): Uint32Array | null {
  if (bootIdWords !== undefined) return bootIdWords;
  try {
    const hex = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim().replaceAll('-', '');
    if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error('unexpected boot_id');
    bootIdWords = Uint32Array.from({ length: 4 }, (_, i) => parseInt(hex.slice(i * 8, i * 8 + 8), 16));
  } catch {
    bootIdWords = null;
  }
  return bootIdWords;
}

function checksum(words: Uint32Array, end: number): number {
  let h = 0x811c9dc5 ^ words[2]!;
  for (let i = 4; i < end; i++) {
    h = Math.imul(h ^ words[i]!, 0x01000193);
    h ^= h >>> 15;
  }
  return (h >>> 0) || 1;
}

const lo = (v: bigint) => Number(v & 0xffffffffn);
const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
const join = (l: number, h: number) => (BigInt(h) << 32n) | BigInt(l);

interface SlotHeader {
  slot: number;
  generation: number;
  words: number;
}

function readHeader(fd: number, slot: number): SlotHeader | undefined {
  const head = new Uint32Array(HEADER_WORDS);
  const n = fs.readSync(fd, new Uint8Array(head.buffer), 0, HEADER_BYTES, 0);
  if (n !== HEADER_BYTES || head[0] !== MAGIC || head[1] !== FORMAT) return undefined;
  const n4 = head[10]!;
  const n6 = head[11]!;
  return { slot, generation: head[2]!, words: HEADER_WORDS + 2 * n4 + 5 * n6 + TRAILER_WORDS };
}

/** Newer first, modulo 2^32. */
const newer = (a: SlotHeader, b: SlotHeader) => ((a.generation - b.generation) | 0) > 0;

function intact(w: Uint32Array, words: number, boot: Uint32Array | null): boolean {
  if (w[words - 2] !== MAGIC || w[words - 1] !== w[2]) return false;
  if (boot) return w[3] === 0 && w[12] === boot[0] && w[13] === boot[1] && w[14] === boot[2] && w[15] === boot[3];
  return w[3] === checksum(w, words - TRAILER_WORDS);
}

function readSlot(fd: number, h: SlotHeader, boot: Uint32Array | null): LeaseIndex | undefined {
  const buf = new ArrayBuffer(h.words * 4);
  const bytes = new Uint8Array(buf);
  let got = 0;
  while (got < bytes.length) {
    const n = fs.readSync(fd, bytes, got, bytes.length - got, got);
    if (n === 0) return undefined;
    got += n;
  }
  const w = new Uint32Array(buf);
  if (!intact(w, h.words, boot)) return undefined;
  const n4 = w[10]!;
  const n6 = w[11]!;
  let off = HEADER_WORDS;
  const keys4 = w.subarray(off, (off += n4));
  const hashes4 = w.subarray(off, (off += n4));
  const keys6 = w.subarray(off, (off += 4 * n6));
  const hashes6 = w.subarray(off, (off += n6));
  const stamp: DirStamp = { ino: join(w[4]!, w[5]!), mtimeNs: join(w[6]!, w[7]!), ctimeNs: join(w[8]!, w[9]!) };
  const index = new LeaseIndex(new KeyTable(1, keys4, hashes4, n4), new KeyTable(4, keys6, hashes6, n6), stamp);
  index.generation = w[2]!;
  index.slot = h.slot;
  return index;
}

/** The newest intact slot, or undefined when there is none (first run, both torn, another boot). */
export function readIndex(stateDir: string, boot: Uint32Array | null = bootId()): LeaseIndex | undefined {
  const found: { fd: number; h: SlotHeader }[] = [];
  try {
    for (const slot of [0, 1]) {
      let fd: number;
      try {
        // Only a regular file is a slot (a pipe in its place would stall the read).
        fd = openRegularFile(slotFile(stateDir, slot)).fd;
      } catch {
        continue;
      }
      let h: SlotHeader | undefined;
      try {
        h = readHeader(fd, slot);
      } catch {
        // Unreadable (a directory in its place): no slot.
      }
      if (h) found.push({ fd, h });
      else fs.closeSync(fd);
    }
    found.sort((a, b) => (newer(a.h, b.h) ? -1 : 1));
    for (const { fd, h } of found) {
      const index = readSlot(fd, h, boot);
      if (index) return index;
    }
    return undefined;
  } finally {
    for (const { fd } of found) fs.closeSync(fd);
  }
}

/** Write `index` into the slot it was not read from, as the next generation. */
export function writeIndex(stateDir: string, index: LeaseIndex, boot: Uint32Array | null = bootId()): void {
  const t4 = index.v4;
  const t6 = index.v6;
  const words = HEADER_WORDS + 2 * t4.length + 5 * t6.length + TRAILER_WORDS;
  const w = new Uint32Array(words);
  const generation = (index.generation + 1) >>> 0;
  w[0] = MAGIC;
  w[1] = FORMAT;
  w[2] = generation;
  w[4] = lo(index.stamp.ino);
  w[5] = hi(index.stamp.ino);
  w[6] = lo(index.stamp.mtimeNs);
  w[7] = hi(index.stamp.mtimeNs);
  w[8] = lo(index.stamp.ctimeNs);
  w[9] = hi(index.stamp.ctimeNs);
  w[10] = t4.length;
  w[11] = t6.length;
  let off = HEADER_WORDS;
  w.set(t4.keys.subarray(0, t4.length), off);
  w.set(t4.hashes.subarray(0, t4.length), (off += t4.length));
  w.set(t6.keys.subarray(0, 4 * t6.length), (off += t4.length));
  w.set(t6.hashes.subarray(0, t6.length), (off += 4 * t6.length));
  w[words - 2] = MAGIC;
  w[words - 1] = generation;
  if (boot) w.set(boot, 12);
  else w[3] = checksum(w, words - TRAILER_WORDS);
  const slot = index.slot === 0 ? 1 : 0;
  // No O_TRUNC: a slot only grows; its header says how much of it counts.
  const file = slotFile(stateDir, slot);
  try {
    const fd = openForWrite(file);
    try {
      writeAll(fd, new Uint8Array(w.buffer), 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw withPath(e, file);
  }
  index.generation = generation;
  index.slot = slot;
}

// --- intent -------------------------------------------------------------------

/**
 * What a job is about to change in the network folder, written before the
 * change: the stamp the saved index describes and the IPs whose lease files
 * may change. A process killed between its change and its index save leaves
 * an index one intent away from the truth, which the next process repairs by
 * reading those few files instead of the whole folder.
 */
export interface Intent {
  base: DirStamp;
  ips: IP[];
}

const intentFile = (stateDir: string) => path.join(stateDir, 'intent');

export function writeIntent(stateDir: string, intent: Intent): void {
  const body = Buffer.from(
    JSON.stringify({
      base: [String(intent.base.ino), String(intent.base.mtimeNs), String(intent.base.ctimeNs)],
      ips: intent.ips.map((ip) => [ip.family, ip.value.toString(16)]),
    }),
  );
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  // Written in place, never truncated, for the same reason as the slots.
  const file = intentFile(stateDir);
  try {
    const fd = openForWrite(file);
    try {
      writeAll(fd, out, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw withPath(e, file);
  }
}

/** Forget the intent record (an unlink needs no free space). */
export function removeIntent(stateDir: string): void {
  fs.rmSync(intentFile(stateDir), { recursive: true, force: true });
}

export function readIntent(stateDir: string): Intent | undefined {
  let fd: number;
  try {
    fd = openRegularFile(intentFile(stateDir)).fd;
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(4);
    if (fs.readSync(fd, head, 0, 4, 0) !== 4) return undefined;
    const len = head.readUInt32LE(0);
    if (len > 1 << 20) return undefined;
    const body = Buffer.alloc(len);
    if (fs.readSync(fd, body, 0, len, 4) !== len) return undefined;
    const doc = JSON.parse(body.toString('utf8')) as { base: [string, string, string]; ips: [4 | 6, string][] };
    return {
      base: { ino: BigInt(doc.base[0]), mtimeNs: BigInt(doc.base[1]), ctimeNs: BigInt(doc.base[2]) },
      ips: doc.ips.map(([family, hex]) => ({ family, value: BigInt(`0x${hex}`) })),
    };
  } catch {
    // Torn or foreign: no usable intent, the index gets rebuilt.
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
