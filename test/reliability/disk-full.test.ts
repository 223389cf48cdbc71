import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cni } from '../plugins/host-local/harness.ts';
import { requireRoot } from '../helpers/netns.ts';
import { NETWORK, pods, resultIP, weftNode } from './helpers/node.ts';
import { expectWholeAttachmentRecords, expectWholeHostLocalStore, expectWholeScratchDir } from './helpers/store-check.ts';
import { smallTmpfs } from './helpers/tmpfs.ts';

// A data directory on a file system that runs out of space or inodes:
// ADD fails with an I/O error (code 5) that says what happened and where,
// leaves no empty, cut-short or temporary file, loses no lease already
// given, and works again once there is room.

const hostLocalConf = (dataDir: string) => ({
  cniVersion: '1.0.0',
  name: 'df',
  ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.50.0.0/24' }], [{ subnet: 'fd00:50::/64' }]] },
});

interface CniErrorDoc {
  code: number;
  msg: string;
  details?: string;
}

/** An ENOSPC error: code 5, Go's wording, and the path of the file it could not write. */
function expectNoSpaceError(stdout: string, under: string): void {
  const err = JSON.parse(stdout) as CniErrorDoc;
  expect(err.code, stdout).toBe(5);
  expect(err.msg).toMatch(/no space left on device/);
  expect(err.msg, 'the message names the file').toContain(under);
  expect(err.msg).not.toMatch(/ENOSPC|\n\s+at /);
}

describe('disk full', () => {
  it('host-local: ADD on a full disk fails with code 5 naming the file; leases kept, no partial files; ADD works once space is freed', async () => {
    requireRoot();
    const fsys = smallTmpfs({ sizeKb: 256 });
    const dataDir = path.join(fsys.dir, 'leases');
    const conf = hostLocalConf(dataDir);
    for (const id of ['a', 'b']) expect((await cni('ADD', conf, { containerId: id })).exitCode).toBe(0);
    const before = expectWholeHostLocalStore(dataDir, 'df');
    expect(before.size).toBe(4);

    fsys.fill();
    const full = await cni('ADD', conf, { containerId: 'c' });
    expect(full.exitCode).toBe(1);
    expectNoSpaceError(full.stdout, dataDir);
    expect(expectWholeHostLocalStore(dataDir, 'df')).toEqual(before);
    // DEL needs no space, and CHECK of a kept attachment still passes.
    expect((await cni('DEL', conf, { containerId: 'b' })).exitCode).toBe(0);
    before.forEach((owner, ip) => owner.startsWith('b') && before.delete(ip));
    expect(expectWholeHostLocalStore(dataDir, 'df')).toEqual(before);

    fsys.free();
    const again = await cni('ADD', conf, { containerId: 'c' });
    expect(again.exitCode, again.stdout).toBe(0);
    const after = expectWholeHostLocalStore(dataDir, 'df');
    expect(after.size).toBe(4);
    before.forEach((owner, ip) => expect(after.get(ip)).toBe(owner));
  });

  it('host-local: with 0 to 5 pages free, each ADD succeeds whole or fails cleanly and gives back what it took', async () => {
    const fsys = smallTmpfs({ sizeKb: 256 });
    const dataDir = path.join(fsys.dir, 'leases');
    const conf = hostLocalConf(dataDir);
    expect((await cni('ADD', conf, { containerId: 'seed' })).exitCode).toBe(0);
    const outcomes: number[] = [];
    for (let pages = 0; pages <= 5; pages++) {
      fsys.fill();
      fsys.leave(pages);
      const before = expectWholeHostLocalStore(dataDir, 'df');
      const r = await cni('ADD', conf, { containerId: `p${pages}` });
      outcomes.push(r.exitCode);
      const after = expectWholeHostLocalStore(dataDir, 'df');
      if (r.exitCode === 0) {
        expect(after.size).toBe(before.size + 2);
      } else {
        expectNoSpaceError(r.stdout, dataDir);
        expect(after).toEqual(before);
      }
      fsys.free();
    }
    // Both ends of the sweep happened: a full disk fails, enough room succeeds.
    expect(outcomes[0]).toBe(1);
    expect(outcomes.at(-1)).toBe(0);
  });

  it('host-local: DEL on a full disk releases the lease even when weft must rebuild its index (the index is a cache)', async () => {
    const fsys = smallTmpfs({ sizeKb: 256 });
    const dataDir = path.join(fsys.dir, 'leases');
    const conf = hostLocalConf(dataDir);
    for (const id of ['a', 'b']) expect((await cni('ADD', conf, { containerId: id })).exitCode).toBe(0);
    // weft's state lost (an operator cleaned it up, or the reference plugin ran here before).
    fs.rmSync(path.join(dataDir, '.weft'), { recursive: true });
    fsys.fill();
    const del = await cni('DEL', conf, { containerId: 'a' });
    expect(del.exitCode, del.stdout).toBe(0);
    const left = expectWholeHostLocalStore(dataDir, 'df');
    expect([...left.values()]).toEqual(['b\r\neth0', 'b\r\neth0']);
    // Once there is room again the index is rebuilt and nothing was forgotten.
    fsys.free();
    expect((await cni('ADD', conf, { containerId: 'c' })).exitCode).toBe(0);
    expect([...expectWholeHostLocalStore(dataDir, 'df').values()].sort()).toEqual(['b\r\neth0', 'b\r\neth0', 'c\r\neth0', 'c\r\neth0']);
  });

  it('host-local: out of inodes, ADD fails with code 5 naming the file; leases kept; works once inodes are freed', async () => {
    const fsys = smallTmpfs({ sizeKb: 1024, inodes: 64 });
    const dataDir = path.join(fsys.dir, 'leases');
    const conf = hostLocalConf(dataDir);
    expect((await cni('ADD', conf, { containerId: 'a' })).exitCode).toBe(0);
    const before = expectWholeHostLocalStore(dataDir, 'df');
    fsys.fillInodes();
    const r = await cni('ADD', conf, { containerId: 'b' });
    expect(r.exitCode).toBe(1);
    expectNoSpaceError(r.stdout, dataDir);
    expect(expectWholeHostLocalStore(dataDir, 'df')).toEqual(before);
    fsys.free();
    expect((await cni('ADD', conf, { containerId: 'b' })).exitCode).toBe(0);
  });

  it('flannel chain: a full disk fails ADD with code 5 naming the saved config; no veth, lease, rule or file is left; works once space is freed', async () => {
    const fsys = smallTmpfs({ sizeKb: 256 });
    const node = weftNode({ flannelDir: path.join(fsys.dir, 'flannel'), leaseDir: path.join(fsys.dir, 'leases') });
    const [first, second] = pods('df', 2);
    const ok = await node.flannel('ADD', first!);
    expect(ok.code, ok.stdout).toBe(0);
    const leasesBefore = node.leases();

    fsys.fill();
    const r = await node.flannel('ADD', second!);
    expect(r.code).toBe(1);
    // The first write of an ADD is the attachment record, beside the leases.
    expectNoSpaceError(r.stdout, path.join(fsys.dir, 'leases', '.weft', NETWORK, 'attachments'));
    expect(expectWholeScratchDir(node.flannelDir)).toEqual([first!.id]);
    expect(expectWholeAttachmentRecords(node.leaseDir, NETWORK)).toEqual([`${first!.id}@eth0`]);
    expect(expectWholeHostLocalStore(node.leaseDir, NETWORK)).toEqual(leasesBefore);
    expect(node.veths()).toHaveLength(1);
    expect(node.masqRules().filter((l) => l.startsWith('-A POSTROUTING'))).toHaveLength(1);

    fsys.free();
    const again = await node.flannel('ADD', second!);
    expect(again.code, again.stdout).toBe(0);
    expect(resultIP(again.stdout)).not.toBe(resultIP(ok.stdout));
    for (const p of [first!, second!]) expect((await node.flannel('DEL', p)).code).toBe(0);
    expect(node.leases().size).toBe(0);
    expect(node.veths()).toEqual([]);
  });

  it('flannel chain: with 0 to 5 pages free, each ADD succeeds whole or is undone entirely (saved config, veth, lease, rules)', async () => {
    const fsys = smallTmpfs({ sizeKb: 256 });
    const node = weftNode({ flannelDir: path.join(fsys.dir, 'flannel'), leaseDir: path.join(fsys.dir, 'leases') });
    const all = pods('dfs', 7);
    expect((await node.flannel('ADD', all[0]!)).code).toBe(0);
    const added = [all[0]!];
    const outcomes: number[] = [];
    for (let pages = 0; pages <= 5; pages++) {
      const pod = all[pages + 1]!;
      fsys.fill();
      fsys.leave(pages);
      const leasesBefore = node.leases();
      const r = await node.flannel('ADD', pod);
      outcomes.push(r.code ?? -1);
      if (r.code === 0) {
        added.push(pod);
      } else {
        expectNoSpaceError(r.stdout, fsys.dir);
        expect(node.leases()).toEqual(leasesBefore);
      }
      expect(expectWholeScratchDir(node.flannelDir)).toEqual(added.map((p) => p.id).sort());
      expect(expectWholeAttachmentRecords(node.leaseDir, NETWORK)).toEqual(added.map((p) => `${p.id}@eth0`).sort());
      expectWholeHostLocalStore(node.leaseDir, NETWORK);
      expect(node.veths()).toHaveLength(added.length);
      expect(node.masqRules().filter((l) => l.startsWith('-A POSTROUTING'))).toHaveLength(added.length);
      fsys.free();
    }
    expect(outcomes[0]).toBe(1);
    expect(outcomes.at(-1)).toBe(0);
    for (const p of added) expect((await node.flannel('DEL', p)).code).toBe(0);
    expect(node.leases().size).toBe(0);
    expect(fs.readdirSync(node.flannelDir)).toEqual([]);
    expect(expectWholeAttachmentRecords(node.leaseDir, NETWORK)).toEqual([]);
  });
});
