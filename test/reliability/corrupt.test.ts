import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerIdFor } from '../../src/cnitool/cli.ts';
import { cni } from '../plugins/host-local/harness.ts';
import { createNetns, requireRoot } from '../helpers/netns.ts';
import { run } from '../helpers/run.ts';
import { tempDir } from '../helpers/tmp.ts';
import { NETWORK, type Pod, pods, pluginEnv, resultIP, weftCniPath, weftNode } from './helpers/node.ts';
import { expectWholeScratchDir } from './helpers/store-check.ts';

// Files damaged by something other than weft (a disk error, an operator,
// another program): emptied, overwritten with text or binary junk, cut
// short, copied from another pod, or replaced by a directory. DEL must still
// succeed and release what the pod holds, and the damage must never block
// other pods' ADD, DEL and GC.

type Damage = (file: string, donor?: string) => void;

const DAMAGES: Record<string, Damage> = {
  'zero-length': (f) => fs.writeFileSync(f, ''),
  garbage: (f) => fs.writeFileSync(f, 'this is not what belongs here\n'),
  'truncated JSON': (f) => fs.writeFileSync(f, '{"cniVersion":"1.0.0","type":"bri'),
  'binary junk': (f) => fs.writeFileSync(f, Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0d, 0x0a, 0x80, 0xc3, 0x28])),
  'wrong owner': (f, donor) => fs.copyFileSync(donor!, f),
  directory: (f) => {
    fs.rmSync(f, { force: true });
    fs.mkdirSync(f);
  },
};

const hostLocalConf = (dataDir: string, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.1.0',
  name: 'hurt',
  ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.60.0.0/24' }]] },
  ...extra,
});

const ipOf = (r: { json?: Record<string, unknown> }) => ((r.json!.ips as { address: string }[])[0]!.address.split('/')[0])!;

describe('corrupt files', () => {
  describe.each(Object.keys(DAMAGES))('host-local, a lease file damaged (%s)', (kind) => {
    it('DEL of every pod succeeds, ADD skips the damaged address, GC clears what is not a lease of a valid attachment', async () => {
      const dataDir = tempDir();
      const conf = hostLocalConf(dataDir);
      const netDir = path.join(dataDir, 'hurt');
      const ips: Record<string, string> = {};
      for (const id of ['a', 'b', 'c']) {
        const r = await cni('ADD', conf, { containerId: id });
        expect(r.exitCode).toBe(0);
        ips[id] = ipOf(r);
      }
      // b's lease is damaged; so is the address the next ADD would get.
      const next = '10.60.0.5';
      expect(Object.values(ips)).not.toContain(next);
      DAMAGES[kind]!(path.join(netDir, ips.b!), path.join(netDir, ips.c!));
      DAMAGES[kind]!(path.join(netDir, next), path.join(netDir, ips.c!));

      const delA = await cni('DEL', conf, { containerId: 'a' });
      expect(delA.exitCode, delA.stdout).toBe(0);
      expect(fs.existsSync(path.join(netDir, ips.a!))).toBe(false);
      expect(fs.readFileSync(path.join(netDir, ips.c!), 'utf8')).toBe('c\r\neth0');
      const delB = await cni('DEL', conf, { containerId: 'b' });
      expect(delB.exitCode, delB.stdout).toBe(0);

      const d = await cni('ADD', conf, { containerId: 'd' });
      expect(d.exitCode, d.stdout).toBe(0);
      expect([ips.b, next, ips.c]).not.toContain(ipOf(d));
      expect(fs.readFileSync(path.join(netDir, ipOf(d)), 'utf8')).toBe('d\r\neth0');

      const gc = await cni('GC', hostLocalConf(dataDir, { 'cni.dev/valid-attachments': [{ containerID: 'c', ifname: 'eth0' }, { containerID: 'd', ifname: 'eth0' }] }));
      expect(gc.exitCode, gc.stdout).toBe(0);
      const left = fs.readdirSync(netDir).filter((n) => n !== 'lock' && !n.startsWith('last_reserved_ip.'));
      // A directory is not a lease: GC leaves it alone, and allocation steps over it.
      const expected = [ips.c!, ipOf(d), ...(kind === 'directory' ? [ips.b!, next] : kind === 'wrong owner' ? [ips.b!, next] : [])];
      expect(left.sort()).toEqual([...new Set(expected)].sort());
    });
  });

  describe.each(['index.0', 'index.1', 'intent', 'tmp', 'lock'])("host-local, weft's own %s damaged", (name) => {
    it.each(['zero-length', 'garbage', 'binary junk', 'directory'])('%s: DEL, ADD and GC still work and nothing is lost', async (kind) => {
      const dataDir = tempDir();
      const conf = hostLocalConf(dataDir);
      for (const id of ['a', 'b']) expect((await cni('ADD', conf, { containerId: id })).exitCode).toBe(0);
      const stateDir = path.join(dataDir, '.weft', 'hurt');
      const file = path.join(stateDir, name);
      fs.rmSync(file, { recursive: true, force: true });
      if (kind === 'directory') fs.mkdirSync(file);
      else DAMAGES[kind]!(file);
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(file, old, old);

      const del = await cni('DEL', conf, { containerId: 'a' });
      expect(del.exitCode, del.stdout).toBe(0);
      const c = await cni('ADD', conf, { containerId: 'c' });
      expect(c.exitCode, c.stdout).toBe(0);
      const again = await cni('ADD', conf, { containerId: 'd' });
      expect(again.exitCode, again.stdout).toBe(0);
      const gc = await cni('GC', hostLocalConf(dataDir, { 'cni.dev/valid-attachments': ['b', 'c', 'd'].map((id) => ({ containerID: id, ifname: 'eth0' })) }));
      expect(gc.exitCode, gc.stdout).toBe(0);
      const owners = fs
        .readdirSync(path.join(dataDir, 'hurt'))
        .filter((n) => n !== 'lock' && !n.startsWith('last_reserved_ip.'))
        .map((n) => fs.readFileSync(path.join(dataDir, 'hurt', n), 'utf8'))
        .sort();
      expect(owners).toEqual(['b\r\neth0', 'c\r\neth0', 'd\r\neth0']);
    });
  });

  it("flannel chain: a pod's saved delegate config damaged in every way, DEL still releases its lease, veth and rules; GC copes", async () => {
    requireRoot();
    const node = weftNode();
    const kinds = Object.keys(DAMAGES);
    const all = pods('sc', kinds.length + 1);
    const bystander = all.at(-1)!;
    const ips = new Map<string, string>();
    for (const p of all) {
      const r = await node.flannel('ADD', p);
      expect(r.code, r.stdout).toBe(0);
      ips.set(p.id, resultIP(r.stdout));
    }
    kinds.forEach((kind, i) => DAMAGES[kind]!(path.join(node.flannelDir, all[i]!.id), path.join(node.flannelDir, bystander.id)));

    for (const [i, kind] of kinds.entries()) {
      const p = all[i]!;
      const r = await node.flannel('DEL', p);
      expect(r.code, `${kind}: ${r.stdout}`).toBe(0);
      expect(node.leases().has(ips.get(p.id)!), kind).toBe(false);
      expect(fs.existsSync(path.join(node.flannelDir, p.id)), `${kind}: saved config left`).toBe(false);
    }
    expect([...node.leases().entries()]).toEqual([[ips.get(bystander.id)!, `${bystander.id}\r\neth0`]]);
    expect(node.veths()).toHaveLength(1);
    expect(node.masqRules().filter((l) => l.startsWith('-A POSTROUTING'))).toHaveLength(1);

    // A directory under flannel's dataDir named like a container is not a saved config: GC neither fails on it nor removes it.
    const foreign = path.join(node.flannelDir, 'not-a-saved-config');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'notes'), 'an operator keeps this here\n');
    const gc = await node.exec('flannel', 'GC', { id: '', netns: '' }, JSON.stringify({ ...node.conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: bystander.id, ifname: 'eth0' }] }));
    expect(gc.code, gc.stdout).toBe(0);
    expect(fs.readdirSync(node.flannelDir).sort()).toEqual([bystander.id, 'not-a-saved-config'].sort());
    fs.rmSync(foreign, { recursive: true });
    expect(expectWholeScratchDir(node.flannelDir)).toEqual([bystander.id]);
    expect((await node.flannel('DEL', bystander)).code).toBe(0);
    expect(node.leases().size).toBe(0);
  });

  it("cnitool: a pod's cached result damaged in every way, cnitool del still releases its lease and drops the cache entry", async () => {
    requireRoot();
    const node = weftNode();
    const cniPath = weftCniPath(['flannel', 'bridge', 'host-local', 'cnitool']);
    const confDir = tempDir('weft-rel-netd-');
    fs.writeFileSync(path.join(confDir, '10-storm.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: NETWORK, plugins: [{ ...node.conf, cniVersion: undefined, name: undefined }] }));
    const cacheDir = tempDir('weft-rel-cache-');
    const cnitool = (verb: string, pod: Pod) =>
      run('ip', ['netns', 'exec', node.host.name, path.join(cniPath, 'cnitool'), verb, NETWORK, pod.netns], {
        env: pluginEnv({ NETCONFPATH: confDir, CNI_PATH: cniPath, CNI_CACHE_DIR: cacheDir }),
      });
    const cacheFile = (pod: Pod) => path.join(cacheDir, 'results', `${NETWORK}-${containerIdFor(pod.netns)}-eth0`);
    const kinds = Object.keys(DAMAGES);
    const all = Array.from({ length: kinds.length + 1 }, () => {
      const ns = createNetns('wrc');
      return { id: containerIdFor(ns.path), netns: ns.path };
    });
    const bystander = all.at(-1)!;
    const ips = new Map<string, string>();
    for (const p of all) {
      const r = await cnitool('add', p);
      expect(r.code, r.stderr).toBe(0);
      ips.set(p.id, resultIP(r.stdout));
    }
    kinds.forEach((kind, i) => DAMAGES[kind]!(cacheFile(all[i]!), cacheFile(bystander)));

    for (const [i, kind] of kinds.entries()) {
      const p = all[i]!;
      const r = await cnitool('del', p);
      expect(r.code, `${kind}: ${r.stderr}`).toBe(0);
      expect(node.leases().has(ips.get(p.id)!), kind).toBe(false);
      expect(fs.existsSync(cacheFile(p)), `${kind}: cache entry left`).toBe(false);
    }
    expect([...node.leases().entries()]).toEqual([[ips.get(bystander.id)!, `${bystander.id}\r\neth0`]]);
    expect(fs.readdirSync(path.join(cacheDir, 'results'))).toEqual([path.basename(cacheFile(bystander))]);
    expect((await cnitool('del', bystander)).code).toBe(0);
    expect(node.leases().size).toBe(0);
    expect(node.veths()).toEqual([]);
  });
});
