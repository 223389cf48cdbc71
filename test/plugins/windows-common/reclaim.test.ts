import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPlugin } from '../../../src/cni/skel.ts';
import { listAttachments, reclaimAttachments } from '../../../src/plugins/attachments/operator.ts';
import { loadPlugin } from '../../../src/plugins/registry.ts';
import { plugin } from '../../../src/plugins/win-bridge/index.ts';
import { run } from '../../helpers/run.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { REFERENCE } from '../host-local/harness.ts';
import { IPAM_CNI_PATH, cni, hostGwNode } from './harness.ts';

// win-bridge run by the runtime itself with host-local IPAM: its attachment
// records, the reclaim an exhausted ADD runs, GC, STATUS and the operator's
// view, against the native HNS stand-in in real PowerShell. One node's life
// covers them all, since every HNS command is a PowerShell start.

type Node = ReturnType<typeof hostGwNode>;

const RANGE = { subnet: '10.244.1.0/24', rangeStart: '10.244.1.3', rangeEnd: '10.244.1.6' };

const conf = (node: Node, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.1.0',
  name: node.name,
  type: 'win-bridge',
  apiVersion: 2,
  ipam: { type: 'host-local', ...RANGE, dataDir: node.dataDir },
  ...extra,
});

/** Every lease of the store: address -> owner as the file says it. */
function leaseOwners(node: Node): Record<string, string> {
  const dir = path.join(node.dataDir, node.name);
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((f) => /^10\./.test(f))
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
  );
}

const records = (node: Node): string[] => {
  const dir = path.join(node.dataDir, '.weft', node.name, 'attachments');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => !f.startsWith('.')).sort() : [];
};

/** kube-proxy's source VIP, as the Windows node scripts lease it: host-local itself, container and interface "dummy". */
async function dummyLease(node: Node): Promise<void> {
  const ipam = { cniVersion: '1.0.0', name: node.name, ipam: conf(node).ipam };
  const out = await runPlugin((await loadPlugin('host-local'))!, {
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'dummy', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy', CNI_PATH: IPAM_CNI_PATH },
    readStdin: () => Buffer.from(JSON.stringify(ipam)),
    stderr: () => {},
  });
  expect(out.exitCode, out.stdout).toBe(0);
}

/** A lease the reference host-local wrote (a pod of a plugin that keeps no records). */
async function referenceLease(node: Node, id: string): Promise<void> {
  const ipam = { cniVersion: '1.0.0', name: node.name, type: 'host-local', ipam: conf(node).ipam };
  const out = await run(REFERENCE, [], {
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: '/none', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
    stdin: JSON.stringify(ipam),
  });
  expect(out.code, out.stdout + out.stderr).toBe(0);
}

describe('win-bridge keeps attachment records: an exhausted ADD reclaims pods whose HNS namespace is gone, GC deletes what the runtime does not list', () => {
  it('reclaims only the gone pod, keeps live pods, the "dummy" lease and a reference lease through exhaustion, GC and cnitool reclaim; STATUS and cnitool attachments tell the dead', async () => {
    const node = hostGwNode();
    const log = path.join(tempDir(), 'weft.log');
    const logEnv = { WEFT_LOG_FILE: log, WEFT_LOG_LEVEL: 'info' };
    await dummyLease(node);
    await referenceLease(node, 'refpod');
    const [nsA, nsB, nsC] = [node.hns.addNamespace(), node.hns.addNamespace(), node.hns.addNamespace()];
    for (const [id, netns] of [['a', nsA], ['b', nsB]] as const) {
      const out = await cni(plugin, 'ADD', node.hns, conf(node), { containerId: id, netns });
      expect(out.code, out.stdout).toBe(0);
    }
    expect(leaseOwners(node)).toEqual({ '10.244.1.3': 'dummy\r\ndummy', '10.244.1.4': 'refpod\r\neth0', '10.244.1.5': 'a\r\neth0', '10.244.1.6': 'b\r\neth0' });
    expect(records(node)).toEqual(['a@eth0', 'b@eth0']);
    const recorded = JSON.parse(fs.readFileSync(path.join(node.dataDir, '.weft', node.name, 'attachments', 'a@eth0'), 'utf8'));
    expect(recorded).toMatchObject({ type: 'win-bridge', containerId: 'a', netns: nsA, namespace: { kind: 'hns', id: nsA } });

    // Full, and every recorded pod alive: STATUS says so (and starts no PowerShell).
    const starts = () => node.hns.calls().length;
    const before = starts();
    const full = await cni(plugin, 'STATUS', node.hns, conf(node), { netns: '' });
    expect(full.json).toMatchObject({ code: 50, msg: expect.stringContaining('no IP addresses available in range set') });

    // The runtime removed a's namespace and never sent the DEL.
    node.hns.removeNamespace(nsA);
    const lines: string[] = [];
    const code = await listAttachments(node.name, [{ type: 'win-bridge', stdin: Buffer.from(JSON.stringify(conf(node))) }], { PATH: process.env.PATH, ...node.hns.env }, {
      stdout: (t) => lines.push(t),
      stderr: (t) => lines.push(t),
    });
    expect(code).toBe(0);
    const listed = lines.join('');
    expect(listed).toMatch(new RegExp(`^a +eth0 +10\\.244\\.1\\.5 +dead +${nsA} +its HNS namespace ${nsA} is gone$`, 'm'));
    expect(listed).toMatch(new RegExp(`^b +eth0 +10\\.244\\.1\\.6 +alive +${nsB}$`, 'm'));
    expect(listed).toMatch(/^dummy +dummy +10\.244\.1\.3 +no record /m);
    expect(listed).toMatch(/^refpod +eth0 +10\.244\.1\.4 +no record /m);
    expect(listed).toContain('1 attachment(s) of pods that are gone hold addresses: "cnitool reclaim cbr0" releases them');
    expect(starts() - before).toBe(1);

    // STATUS goes by the listing the operator's view left: one dead attachment, so an ADD would succeed.
    const ready = await cni(plugin, 'STATUS', node.hns, conf(node), { netns: '', env: logEnv });
    expect(ready.code, ready.stdout).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toMatch(/attachments of pods that are gone hold addresses.* dead=1/);
    expect(starts() - before).toBe(1);

    // The next ADD finds the range exhausted, reclaims a (endpoint and lease) and takes its address.
    const c = await cni(plugin, 'ADD', node.hns, conf(node), { containerId: 'c', netns: nsC, env: logEnv });
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.ips).toEqual([{ address: '10.244.1.5/24', gateway: '10.244.1.2' }]);
    expect(node.hns.endpoint('a_cbr0')).toBeUndefined();
    expect(node.hns.endpoint('b_cbr0')?.namespaceId).toBe(nsB);
    expect(node.hns.endpoint('c_cbr0')?.namespaceId).toBe(nsC);
    expect(leaseOwners(node)).toEqual({ '10.244.1.3': 'dummy\r\ndummy', '10.244.1.4': 'refpod\r\neth0', '10.244.1.5': 'c\r\neth0', '10.244.1.6': 'b\r\neth0' });
    expect(records(node)).toEqual(['b@eth0', 'c@eth0']);
    expect(fs.readFileSync(log, 'utf8')).toMatch(/reclaimed the attachment of a pod that is gone .* containerId="a"/);
    // The ADD's own try, one listing for all records, a's DEL, the ADD again.
    expect(starts() - before).toBe(5);

    // GC: the runtime lists c only. b's endpoint and lease go though its namespace lives; what weft did not make stays.
    const gc = await cni(plugin, 'GC', node.hns, conf(node, { 'cni.dev/valid-attachments': [{ containerID: 'c', ifname: 'eth0' }] }), { netns: '' });
    expect(gc.code, gc.stdout).toBe(0);
    expect(node.hns.endpoint('b_cbr0')).toBeUndefined();
    expect(node.hns.endpoint('c_cbr0')?.namespaceId).toBe(nsC);
    expect(node.hns.endpoint('cbr0_ep')).toBeDefined();
    expect(leaseOwners(node)).toEqual({ '10.244.1.3': 'dummy\r\ndummy', '10.244.1.4': 'refpod\r\neth0', '10.244.1.5': 'c\r\neth0' });
    expect(records(node)).toEqual(['c@eth0']);

    // The node restarted: HNS lists no namespace at all. cnitool reclaim DELs c.
    node.hns.removeNamespace(nsB);
    node.hns.removeNamespace(nsC);
    const out: string[] = [];
    const reclaimed = await reclaimAttachments(node.name, [{ type: 'win-bridge', stdin: Buffer.from(JSON.stringify(conf(node))) }], { PATH: process.env.PATH, CNI_PATH: IPAM_CNI_PATH, ...node.hns.env }, {
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
    });
    expect(reclaimed, out.join('')).toBe(0);
    expect(out.join('')).toBe(`reclaimed c eth0 10.244.1.5: its HNS namespace ${nsC} is gone\n`);
    expect(node.hns.endpoint('c_cbr0')).toBeUndefined();
    expect(leaseOwners(node)).toEqual({ '10.244.1.3': 'dummy\r\ndummy', '10.244.1.4': 'refpod\r\neth0' });
    expect(records(node)).toEqual([]);
  });
});
