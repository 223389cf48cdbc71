import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { namespaceIdentity } from '../../../src/plugins/attachments/lifecycle.ts';
import { coveredBy, loadListing, saveListing } from '../../../src/plugins/attachments/hns-listing.ts';
import { livenessOf } from '../../../src/plugins/attachments/liveness.ts';
import { type AttachmentRecord, type NamespaceIdentity, decodeRecord, encodeRecord } from '../../../src/plugins/attachments/record.ts';
import { reclaimDead } from '../../../src/plugins/attachments/reclaim.ts';
import { type AttachmentSite, lockRecord, writeRecord } from '../../../src/plugins/attachments/store.ts';
import { type Netns, createNetns, deleteNetns, ipIn, recreateNetns } from '../../helpers/netns.ts';
import { tempDir, writeScript } from '../../helpers/tmp.ts';

// Which attachments are provably gone, and the DEL a reclaim runs for each:
// real namespaces, and a recording plugin on CNI_PATH standing in for the
// recorded type (so what the DEL receives can be read back).

const RECORDING_DEL = `
f="$DEL_LOG/$CNI_CONTAINERID"
cat > "$f.stdin"
printf '%s\\n' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_IFNAME" "[$CNI_NETNS]" "$CNI_ARGS" > "$f.env"
if [ "$CNI_CONTAINERID" = fails ]; then printf '{"code":7,"msg":"cannot DEL this one"}'; exit 1; fi
exit 0`;

function rig() {
  const dir = tempDir();
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'log');
  fs.mkdirSync(bin);
  fs.mkdirSync(log);
  writeScript(path.join(bin, 'recorder'), RECORDING_DEL);
  const site: AttachmentSite = { dataDir: path.join(dir, 'leases'), network: 'net' };
  const env = { PATH: process.env.PATH, CNI_PATH: bin, DEL_LOG: log };
  const lease = (ip: string, id: string) => {
    fs.mkdirSync(path.join(site.dataDir, 'net'), { recursive: true });
    fs.writeFileSync(path.join(site.dataDir, 'net', ip), `${id}\r\neth0`);
  };
  const attach = async (id: string, ns: Netns, over: Partial<AttachmentRecord> = {}) => {
    const r: AttachmentRecord = {
      type: 'recorder',
      containerId: id,
      ifName: 'eth0',
      netns: ns.path,
      cniArgs: `K8S_POD_NAME=${id}`,
      namespace: namespaceIdentity('linux', ns.path)!,
      stdin: Buffer.from(`{"cniVersion":"1.0.0","name":"net","type":"recorder","id":"${id}"}`),
      addedAt: new Date().toISOString(),
      ...over,
    };
    await writeRecord(site, r);
    return r;
  };
  const delOf = (id: string) => {
    const f = path.join(log, id);
    if (!fs.existsSync(`${f}.env`)) return undefined;
    return { env: fs.readFileSync(`${f}.env`, 'utf8').trim().split('\n'), stdin: fs.readFileSync(`${f}.stdin`, 'utf8') };
  };
  return { site, env, lease, attach, delOf };
}

describe('liveness', () => {
  it('alive while the path names the namespace it named at ADD; dead once it is gone, names another, or the node restarted', async () => {
    const [a, b, c, d] = [createNetns('wla'), createNetns('wla'), createNetns('wla'), createNetns('wla')];
    const rec = (ns: Netns, namespace?: NamespaceIdentity) =>
      ({ netns: ns.path, namespace: namespace ?? namespaceIdentity('linux', ns.path)! }) as AttachmentRecord;
    const before = { ...(namespaceIdentity('linux', d.path) as Extract<NamespaceIdentity, { kind: 'linux' }>), boot: 'a-boot-before-this-one' };
    const records = [rec(a), rec(b), rec(c), rec(d, before)];
    deleteNetns(b);
    recreateNetns(c);
    expect(await livenessOf(records)).toEqual([
      { state: 'alive' },
      { state: 'dead', why: `its network namespace ${b.path} is gone` },
      { state: 'dead', why: `${c.path} names another network namespace now` },
      { state: 'dead', why: 'the node has restarted since the pod was added' },
    ]);
  });

  it('records no identity for a path that names no namespace, or a relative one', () => {
    const file = path.join(tempDir(), 'plain');
    fs.writeFileSync(file, '');
    expect(namespaceIdentity('linux', file)).toBeUndefined();
    expect(namespaceIdentity('linux', '/no/such/netns')).toBeUndefined();
    expect(namespaceIdentity('linux', 'var/run/netns/x')).toBeUndefined();
  });

  it("records the HNS namespace GUID on Windows (lower case, braces dropped), and nothing for Docker's none and container:<id>", () => {
    expect(namespaceIdentity('windows', '5B7E2C1A-3F4D-4E5B-8A6C-7D8E9F0A1B2C')).toEqual({ kind: 'hns', id: '5b7e2c1a-3f4d-4e5b-8a6c-7d8e9f0a1b2c' });
    expect(namespaceIdentity('windows', '{5b7e2c1a-3f4d-4e5b-8a6c-7d8e9f0a1b2c}')).toEqual({ kind: 'hns', id: '5b7e2c1a-3f4d-4e5b-8a6c-7d8e9f0a1b2c' });
    expect(namespaceIdentity('windows', 'none')).toBeUndefined();
    expect(namespaceIdentity('windows', 'container:5b7e2c1a3f4d')).toBeUndefined();
  });

  it('judges an HNS namespace only by a listing taken after its record: gone from it is dead, a record added since is unknown', async () => {
    const [a, b, c] = ['5b7e2c1a-3f4d-4e5b-8a6c-7d8e9f0a1b2c', '6c8f3d2b-4a5e-4f6c-9b7d-8e9fa0b1c2d3', '7d9a4e3c-5b6f-4a7d-8c8e-9fa0b1c2d3e4'];
    const hns = (id: string) => ({ netns: id.toUpperCase(), namespace: { kind: 'hns', id } }) as AttachmentRecord;
    const records = [hns(a), hns(b), hns(c)];
    // No listing to go by (the operator's list and the reclaim list; STATUS loads the last one).
    expect(await livenessOf([hns(a)])).toEqual([{ state: 'unknown', why: 'its HNS namespace is not looked at here' }]);
    // The listing saw a and b recorded, and lists only a (upper case, as HNS may).
    const site = { dataDir: tempDir(), network: 'cbr0' };
    saveListing(site, { namespaces: new Set([a]), covered: coveredBy([hns(a), hns(b)]) });
    let asked = 0;
    const states = await livenessOf(records, undefined, async () => (asked++, loadListing(site)));
    expect(states).toEqual([
      { state: 'alive' },
      { state: 'dead', why: `its HNS namespace ${b} is gone` },
      { state: 'unknown', why: 'added after the last listing of HNS namespaces' },
    ]);
    expect(asked).toBe(1);
    fs.writeFileSync(path.join(site.dataDir, '.weft', 'cbr0', 'hns-namespaces'), '{"weftHnsNamespaces":1,"namespaces":["x"]}');
    expect(await livenessOf([hns(b)], undefined, async () => loadListing(site))).toEqual([{ state: 'unknown', why: expect.stringMatching(/listing .* is damaged/) }]);
  });
});

describe('reclaimDead', () => {
  it('DELs an attachment whose namespace is gone: its recorded type, config and CNI_* values, and an empty CNI_NETNS', async () => {
    const r = rig();
    const [live, gone] = [createNetns('wla'), createNetns('wla')];
    await r.attach('live', live);
    await r.attach('gone', gone);
    r.lease('10.9.0.2', 'live');
    r.lease('10.9.0.3', 'gone');
    deleteNetns(gone);
    const out = await reclaimDead(r.site, r.env, { trigger: 'test' });
    expect(out.reclaimed.map((x) => [x.record.containerId, x.addresses, x.why])).toEqual([['gone', ['10.9.0.3'], `its network namespace ${gone.path} is gone`]]);
    expect(r.delOf('gone')).toEqual({
      env: ['DEL', 'gone', 'eth0', '[]', 'K8S_POD_NAME=gone'],
      stdin: '{"cniVersion":"1.0.0","name":"net","type":"recorder","id":"gone"}',
    });
    expect(r.delOf('live')).toBeUndefined();
    expect(out).toMatchObject({ busy: 0, failed: [], undecided: [] });
  });

  it('waits for a held record lock, then leaves alone an attachment an ADD took over meanwhile', async () => {
    const r = rig();
    const [gone, fresh] = [createNetns('wla'), createNetns('wla')];
    await r.attach('gone', gone);
    deleteNetns(gone);
    const held = await lockRecord(r.site, 'gone@eth0');
    let done = false;
    const sweep = reclaimDead(r.site, r.env, { trigger: 'test' }).then((o) => ((done = true), o));
    await new Promise((res) => setTimeout(res, 300));
    expect(done).toBe(false);
    // The holder was an ADD of the same container and interface, in a new namespace.
    const file = path.join(r.site.dataDir, '.weft', 'net', 'attachments', 'gone@eth0');
    const rewrite = (over: Partial<AttachmentRecord>) => fs.writeFileSync(file, encodeRecord({ ...(decodeRecord(fs.readFileSync(file, 'utf8')) as AttachmentRecord), ...over }));
    rewrite({ netns: fresh.path, namespace: namespaceIdentity('linux', fresh.path)! });
    await held.release();
    expect(await sweep).toMatchObject({ reclaimed: [], busy: 1, failed: [] });
    expect(r.delOf('gone')).toBeUndefined();
  });

  it('reclaims only the record it judged: one rewritten meanwhile waits for the next sweep, even when it looks dead', async () => {
    const r = rig();
    const [gone, keeper] = [createNetns('wla'), createNetns('wla')];
    await r.attach('gone', gone);
    deleteNetns(gone);
    r.lease('10.9.0.3', 'gone');
    const held = await lockRecord(r.site, 'gone@eth0');
    const sweep = reclaimDead(r.site, r.env, { trigger: 'test' });
    await new Promise((res) => setTimeout(res, 300));
    // Rewritten to a path that is gone, with the inode of a namespace that lives and has the address:
    // a close look would find it held; a glance at the path would not.
    ipIn(keeper, 'addr', 'add', '10.9.0.3/24', 'dev', 'lo');
    const file = path.join(r.site.dataDir, '.weft', 'net', 'attachments', 'gone@eth0');
    const before = decodeRecord(fs.readFileSync(file, 'utf8')) as AttachmentRecord;
    fs.writeFileSync(file, encodeRecord({ ...before, netns: path.join(tempDir(), 'gone-too'), namespace: namespaceIdentity('linux', keeper.path)! }));
    await held.release();
    expect((await sweep).reclaimed).toEqual([]);
    expect(r.delOf('gone')).toBeUndefined();
    const next = await reclaimDead(r.site, r.env, { trigger: 'test' });
    expect(next.reclaimed).toEqual([]);
    expect(next.undecided.map((u) => u.why)).toEqual([expect.stringContaining('still holds its old namespace, with 10.9.0.3 in it')]);
  });

  it('waits for a held record lock, then finishes a reclaim its holder did not', async () => {
    const r = rig();
    const gone = createNetns('wla');
    await r.attach('gone', gone);
    deleteNetns(gone);
    const held = await lockRecord(r.site, 'gone@eth0');
    const sweep = reclaimDead(r.site, r.env, { trigger: 'test' });
    await new Promise((res) => setTimeout(res, 300));
    await held.release();
    expect((await sweep).reclaimed.map((x) => x.record.containerId)).toEqual(['gone']);
    expect(r.delOf('gone')?.env[1]).toBe('gone');
  });

  it('keeps the record of a DEL that failed, and says so', async () => {
    const r = rig();
    const gone = createNetns('wla');
    await r.attach('fails', gone);
    deleteNetns(gone);
    const out = await reclaimDead(r.site, r.env, { trigger: 'test' });
    expect(out.failed).toEqual([{ record: expect.objectContaining({ containerId: 'fails' }), error: 'cannot DEL this one' }]);
    expect(fs.existsSync(path.join(r.site.dataDir, '.weft', 'net', 'attachments', 'fails@eth0'))).toBe(true);
  });

  it('a namespace of the recorded inode number that still has one of the addresses is the pod\'s, held alive: not dead; one without them is another', async () => {
    const r = rig();
    const [holder, other] = [createNetns('wla'), createNetns('wla')];
    const gonePath = path.join(tempDir(), 'gone-netns');
    // Records whose path is gone and whose inode number is that of a living namespace.
    const inodeOf = (ns: Netns) => namespaceIdentity('linux', ns.path)!;
    await r.attach('held', holder, { netns: gonePath, namespace: inodeOf(holder) });
    await r.attach('reused', other, { netns: gonePath, namespace: inodeOf(other) });
    r.lease('10.9.0.5', 'held');
    r.lease('10.9.0.6', 'reused');
    ipIn(holder, 'addr', 'add', '10.9.0.5/24', 'dev', 'lo');
    ipIn(other, 'addr', 'add', '10.9.0.77/24', 'dev', 'lo');
    const out = await reclaimDead(r.site, r.env, { trigger: 'test' });
    expect(out.reclaimed.map((x) => x.record.containerId)).toEqual(['reused']);
    expect(out.undecided).toEqual([
      { record: expect.objectContaining({ containerId: 'held' }), why: expect.stringMatching(new RegExp(`^its network namespace ${gonePath} is gone, but a mount at /run/netns/${holder.name} still holds its old namespace, with 10\\.9\\.0\\.5 in it$`)) },
    ]);
    expect(r.delOf('held')).toBeUndefined();
  });
});
