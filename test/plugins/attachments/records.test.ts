import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AttachmentRecord, decodeRecord, encodeRecord, isRecordKey, recordKey } from '../../../src/plugins/attachments/record.ts';
import {
  attachmentsDir,
  hostLocalSite,
  listRecords,
  lockRecord,
  readRecord,
  removeLeftovers,
  removeRecord,
  tryLockRecord,
  writeRecord,
} from '../../../src/plugins/attachments/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

// The attachment record: its file format, its name, and the folder beside
// host-local's store it lives in.

const record = (over: Partial<AttachmentRecord> = {}): AttachmentRecord => ({
  type: 'flannel',
  containerId: 'c1',
  ifName: 'eth0',
  netns: '/var/run/netns/cni-1',
  cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=web-0',
  namespace: { kind: 'linux', boot: '0f7c2a4e-1b2d-4c3e-9f8a-7b6c5d4e3f21', dev: '4', ino: '4026532817' },
  stdin: Buffer.from('{"cniVersion":"0.3.1","name":"cbr0","type":"flannel"}'),
  addedAt: '2025-01-02T03:04:05.000Z',
  ...over,
});

describe('the record file', () => {
  it('is weft\'s own JSON: format version, type, CNI_* values, namespace identity, config in base64', () => {
    expect(JSON.parse(encodeRecord(record()))).toEqual({
      weftAttachment: 1,
      type: 'flannel',
      containerId: 'c1',
      ifName: 'eth0',
      netns: '/var/run/netns/cni-1',
      cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=web-0',
      namespace: { kind: 'linux', boot: '0f7c2a4e-1b2d-4c3e-9f8a-7b6c5d4e3f21', dev: '4', ino: '4026532817' },
      stdin: Buffer.from('{"cniVersion":"0.3.1","name":"cbr0","type":"flannel"}').toString('base64'),
      addedAt: '2025-01-02T03:04:05.000Z',
    });
  });

  it('gives back the config byte for byte, whatever the bytes, and an HNS identity as well', () => {
    const r = record({ stdin: Buffer.from([0x7b, 0xff, 0x00, 0x7d]), namespace: { kind: 'hns', id: '5b7e2c1a-3f4d-4e5b-8a6c-7d8e9f0a1b2c' } });
    expect(decodeRecord(encodeRecord(r))).toEqual(r);
  });

  it('is never taken for a record when it is not whole or not what weft writes', () => {
    const good = JSON.parse(encodeRecord(record()));
    const cases: [string, string][] = [
      ['', 'not JSON'],
      [encodeRecord(record()).slice(0, 40), 'not JSON'],
      [JSON.stringify({ ...good, weftAttachment: 2 }), 'weftAttachment'],
      [JSON.stringify({ ...good, type: '../bin/sh' }), 'type: "../bin/sh" is not a plugin name'],
      [JSON.stringify({ ...good, containerId: '../x' }), 'containerId'],
      [JSON.stringify({ ...good, ifName: 'a/b' }), 'ifName'],
      [JSON.stringify({ ...good, netns: 'relative/path' }), 'netns'],
      [JSON.stringify({ ...good, namespace: { kind: 'linux', boot: '', dev: '4', ino: 'x' } }), 'namespace.ino'],
      [JSON.stringify({ ...good, namespace: { kind: 'solaris' } }), 'namespace'],
      [JSON.stringify({ ...good, stdin: 'not base64!' }), 'stdin'],
    ];
    for (const [text, why] of cases) {
      const out = decodeRecord(text);
      expect('corrupt' in out && out.corrupt, text).toContain(why);
    }
  });

  it('is named <container>@<interface>, the interface with every byte outside [A-Za-z0-9_-] as %XX', () => {
    expect(recordKey('c1', 'eth0')).toBe('c1@eth0');
    expect(recordKey('c.1', 'eth0.100')).toBe('c.1@eth0%2E100');
    expect(recordKey('c1', 'ä*')).toBe('c1@%C3%A4%2A');
    for (const name of ['c1@eth0', 'c.1@eth0%2E100', 'c1@%C3%A4%2A']) expect(isRecordKey(name)).toBe(true);
    // Temporary files and locks start with a dot; no record name can.
    for (const name of ['.tmp.c1@eth0.5-0', '.lock.c1@eth0', 'c1', 'c1@', 'c1@eth0.x', '@eth0', 'c1@%zz']) expect(isRecordKey(name), name).toBe(false);
  });
});

describe('where records live', () => {
  it('beside host-local\'s store of a host-local IPAM (its dataDir, read in any case, or the default), and nowhere for another IPAM', () => {
    expect(hostLocalSite('cbr0', { type: 'host-local' })).toEqual({ dataDir: '/var/lib/cni/networks', network: 'cbr0' });
    expect(hostLocalSite('cbr0', { type: 'host-local', DataDir: '/data' })).toEqual({ dataDir: '/data', network: 'cbr0' });
    expect(hostLocalSite('cbr0', { Type: 'host-local', dataDir: '' })).toEqual({ dataDir: '/var/lib/cni/networks', network: 'cbr0' });
    expect(hostLocalSite('cbr0', { type: 'dhcp' })).toBeUndefined();
    expect(hostLocalSite('cbr0', undefined)).toBeUndefined();
    expect(attachmentsDir({ dataDir: '/data', network: 'cbr0' })).toBe('/data/.weft/cbr0/attachments');
  });

  it('writes, lists, replaces and removes records, leaving nothing else behind', async () => {
    const site = { dataDir: tempDir(), network: 'net' };
    await writeRecord(site, record());
    await writeRecord(site, record({ containerId: 'c2' }));
    await writeRecord(site, record({ containerId: 'c2', addedAt: 'later' }));
    expect(fs.readdirSync(attachmentsDir(site)).sort()).toEqual(['c1@eth0', 'c2@eth0']);
    expect(listRecords(site).map((s) => ('record' in s ? [s.key, s.record.addedAt] : s))).toEqual([
      ['c1@eth0', '2025-01-02T03:04:05.000Z'],
      ['c2@eth0', 'later'],
    ]);
    fs.writeFileSync(path.join(attachmentsDir(site), 'c3@eth0'), '{"weftAtt');
    expect(readRecord(site, 'c3@eth0')).toEqual({ key: 'c3@eth0', corrupt: expect.stringContaining('not JSON') });
    expect(readRecord(site, 'c4@eth0')).toBeUndefined();
    removeRecord(site, 'c1', 'eth0');
    removeRecord(site, 'c1', 'eth0');
    expect(listRecords(site).map((s) => s.key)).toEqual(['c2@eth0', 'c3@eth0']);
    expect(listRecords({ dataDir: path.join(site.dataDir, 'none'), network: 'net' })).toEqual([]);
  });

  it('writes a record only under its lock, and a held lock is busy to a reclaim', async () => {
    const site = { dataDir: tempDir(), network: 'net' };
    const held = await lockRecord(site, 'c1@eth0');
    expect(await tryLockRecord(site, 'c1@eth0')).toBeUndefined();
    let written = false;
    const write = writeRecord(site, record()).then(() => (written = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(written).toBe(false);
    await held.release();
    await write;
    expect(readRecord(site, 'c1@eth0')).toMatchObject({ record: { containerId: 'c1' } });
    const again = await tryLockRecord(site, 'c1@eth0');
    expect(again).toBeDefined();
    await again!.release();
    expect(fs.readdirSync(attachmentsDir(site))).toEqual(['c1@eth0']);
  });

  it('removes what killed writers left: temporary files and stale locks, but nothing a live process holds', async () => {
    const site = { dataDir: tempDir(), network: 'net' };
    await writeRecord(site, record());
    const dir = attachmentsDir(site);
    const stale = new Date(Date.now() - 60_000);
    fs.writeFileSync(path.join(dir, '.tmp.c1@eth0.999-0'), '{"weft');
    fs.mkdirSync(path.join(dir, '.lock.c2@eth0'));
    fs.utimesSync(path.join(dir, '.lock.c2@eth0'), stale, stale);
    fs.writeFileSync(path.join(dir, '.tmp.c2@eth0.998-3'), '{"weftAtt');
    // c4's writer is at work: its lock is fresh, its temporary file its own.
    const live = await lockRecord(site, 'c4@eth0');
    fs.writeFileSync(path.join(dir, '.tmp.c4@eth0.997-1'), '{');
    await removeLeftovers(site);
    expect(fs.readdirSync(dir).sort()).toEqual(['.lock.c4@eth0', '.tmp.c4@eth0.997-1', 'c1@eth0']);
    await live.release();
  });
});
