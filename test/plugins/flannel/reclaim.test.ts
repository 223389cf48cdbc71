import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ipIn, recreateNetns, shIn } from '../../helpers/netns.ts';
import { startOwned } from '../../helpers/run.ts';
import { cnitool, cnitoolOperator } from './chain.ts';
import { type KubeFlannelNode, type Pod, kubeFlannelNode, podAddr } from './pods.ts';

// Exhausted ranges through kube-flannel's conflist, unchanged, driven by
// cnitool as a runtime: pods whose network namespace went away without a
// DEL give their addresses back to the next ADD; pods that live, leases the
// reference plugin wrote, and namespaces still held by a process never do.

/** A /29: the gateway .1 and five addresses for pods, .2 to .6. */
const SMALL_SUBNET = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/29\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

const world = () => kubeFlannelNode(SMALL_SUBNET);

type World = KubeFlannelNode;

/** Five pods fill the range. */
async function fill(w: World): Promise<Pod[]> {
  const pods = Array.from({ length: 5 }, () => w.pod());
  for (const p of pods) await w.add(p);
  expect(pods.map((p) => p.ip).sort()).toEqual(['10.244.1.2', '10.244.1.3', '10.244.1.4', '10.244.1.5', '10.244.1.6']);
  // One record per pod, flannel's (its delegate bridge keeps none).
  expect(w.records()).toEqual(pods.map((p) => `${p.id}@eth0`).sort());
  const first = JSON.parse(fs.readFileSync(path.join(w.recordDir, `${pods[0]!.id}@eth0`), 'utf8'));
  expect(first).toMatchObject({ type: 'flannel', containerId: pods[0]!.id, ifName: 'eth0', netns: pods[0]!.netns });
  return pods;
}

function expectKept(w: World, live: readonly Pod[]): void {
  const leases = w.leases();
  for (const p of live) {
    expect(leases.get(p.ip!), p.id).toBe(`${p.id}\r\neth0`);
    expect(podAddr(p.ns), p.id).toEqual([p.ip]);
    expect(w.saved(p), p.id).toBe(true);
    expect(w.records(), p.id).toContain(`${p.id}@eth0`);
  }
}

function expectReclaimed(w: World, gone: readonly Pod[], stderr: string): void {
  const owners = [...w.leases().values()];
  for (const p of gone) {
    expect(owners, p.id).not.toContain(`${p.id}\r\neth0`);
    expect(w.saved(p), p.id).toBe(false);
    expect(w.records(), p.id).not.toContain(`${p.id}@eth0`);
    // Logged with the container ID (weft's log is off: runtimes log a plugin's stderr).
    expect(stderr).toMatch(new RegExp(`reclaimed the attachment of a pod that is gone .*containerId="${p.id}"`));
  }
}

describe('an exhausted range reclaims the attachments of pods that are gone', () => {
  it('pods whose namespaces were deleted without DEL give their addresses to the next ADD; every live pod keeps its lease', async () => {
    const w = world();
    const pods = await fill(w);
    const [gone1, gone2] = [pods[1]!, pods[3]!];
    w.vanish(gone1);
    w.vanish(gone2);

    const next = w.pod();
    const r = await w.add(next);
    expect([gone1.ip, gone2.ip]).toContain(next.ip);
    expect(w.leases().get(next.ip!)).toBe(`${next.id}\r\neth0`);
    expect(podAddr(next.ns)).toEqual([next.ip]);
    expectKept(w, [pods[0]!, pods[2]!, pods[4]!, next]);
    expectReclaimed(w, [gone1, gone2], r.stderr);
    // Both were reclaimed, so one more pod fits.
    const another = w.pod();
    await w.add(another);
    expect([gone1.ip, gone2.ip].sort()).toEqual([next.ip, another.ip].sort());
    expect(w.leases().size).toBe(5);
  });

  it('a namespace path recreated for another namespace counts as gone, and the new namespace is never entered', async () => {
    const w = world();
    const pods = await fill(w);
    const reused = pods[2]!;
    // Same name, same path, another namespace, with an eth0 of its own a DEL would delete.
    recreateNetns(reused.ns);
    ipIn(reused.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer');
    ipIn(reused.ns, 'addr', 'add', '192.0.2.9/24', 'dev', 'eth0');

    const next = w.pod();
    const r = await w.add(next);
    expect(next.ip).toBe(reused.ip);
    expect(r.stderr).toContain(`names another network namespace now`);
    expectKept(w, [pods[0]!, pods[1]!, pods[3]!, pods[4]!, next]);
    expectReclaimed(w, [reused], r.stderr);
    expect(podAddr(reused.ns)).toEqual(['192.0.2.9']);
  });
});

describe('what is never reclaimed', () => {
  it('a live pod: the ADD fails with host-local\'s error and a hint, and nothing is touched', async () => {
    const w = world();
    const pods = await fill(w);
    const before = w.leases();
    const r = await cnitool(w.node, 'add', w.call, w.pod().netns);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no IP addresses available in range set: 10.244.1.1-10.244.1.6');
    expect(r.stderr).toContain('no attachment on this node belongs to a pod that is provably gone; "cnitool attachments cbr0" lists who holds the addresses');
    expect(w.leases()).toEqual(before);
    expectKept(w, pods);
  });

  it('a lease the reference host-local wrote (no record), even when its container is long gone', async () => {
    const w = world();
    const pods = Array.from({ length: 3 }, () => w.pod());
    for (const p of pods) await w.add(p);
    // The reference plugin fills the rest of the same store; it keeps no records.
    const store = path.join(w.node.varLibCni, 'networks');
    const refConf = JSON.stringify({ cniVersion: '0.3.1', name: 'cbr0', ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/29' }]], dataDir: store } });
    for (const id of ['ref-a', 'ref-b']) {
      execFileSync('/usr/lib/cni/host-local', [], {
        input: refConf,
        env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: '/var/run/netns/long-gone', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
      });
    }
    const before = w.leases();
    expect([...before.values()].filter((o) => o.startsWith('ref-'))).toHaveLength(2);
    // Even with a weft pod gone, the reference's leases stay: only the recorded one is reclaimed.
    w.vanish(pods[0]!);
    const next = w.pod();
    const r = await w.add(next);
    expect(next.ip).toBe(pods[0]!.ip);
    for (const [ip, owner] of before) if (owner.startsWith('ref-')) expect(w.leases().get(ip)).toBe(owner);
    expectReclaimed(w, [pods[0]!], r.stderr);
    const full = await cnitool(w.node, 'add', w.call, w.pod().netns);
    expect(full.code).toBe(1);
    expect(full.stderr).toContain('no IP addresses available in range set');
    for (const [ip, owner] of before) if (owner.startsWith('ref-')) expect(w.leases().get(ip)).toBe(owner);
  });

  it('a namespace whose path is gone but that a process still lives in', async () => {
    const w = world();
    const pods = await fill(w);
    const held = pods[0]!;
    // A process keeps the namespace (and the pod's eth0 with its address) alive after its path goes.
    const holder = startOwned('ip', ['netns', 'exec', held.ns.name, 'sleep', '300'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    w.vanish(held);
    const r = await cnitool(w.node, 'add', w.call, w.pod().netns);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('no IP addresses available in range set');
    expect(r.stderr).toContain(`its network namespace ${held.netns} is gone, but process `);
    expect(r.stderr).toContain(` still holds its old namespace, with ${held.ip} in it`);
    expect(w.leases().get(held.ip!)).toBe(`${held.id}\r\neth0`);
    expect(w.saved(held)).toBe(true);
    expect(holder.exitCode).toBeNull();
  });
});

/** flannel run directly on the node, as a CNI 1.1 runtime would for GC and STATUS. */
function flannelDirect(w: World, command: 'GC' | 'STATUS', extra: Record<string, unknown> = {}) {
  const conf = { cniVersion: '1.1.0', name: 'cbr0', type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true }, ...extra };
  return w.node.exec(path.join(w.call.cniPath, 'flannel'), { CNI_COMMAND: command, CNI_PATH: w.call.cniPath }, JSON.stringify(conf));
}

describe('GC and STATUS', () => {
  it('GC reclaims pods that are gone (listed or not), releases what the runtime no longer lists, and drops their records', async () => {
    // FLANNEL_IPMASQ=false: the bridge masquerades, so each pod has rules a reclaim must remove.
    const w = kubeFlannelNode('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/29\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');
    const [kept, gone, unlisted] = [w.pod(), w.pod(), w.pod()];
    for (const p of [kept, gone, unlisted]) await w.add(p);
    const natRules = () => shIn(w.host, 'iptables -t nat -S');
    expect(natRules()).toContain(`id: \\"${gone.id}\\"`);
    w.vanish(gone);
    const gc = await flannelDirect(w, 'GC', { 'cni.dev/valid-attachments': [kept, gone].map((p) => ({ containerID: p.id, ifname: 'eth0' })) });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(gc.stderr).toMatch(new RegExp(`reclaimed the attachment of a pod that is gone .*containerId="${gone.id}".*trigger="GC"`));
    expect(natRules()).not.toContain(`id: \\"${gone.id}\\"`);
    expect([...w.leases().entries()]).toEqual([[kept.ip, `${kept.id}\r\neth0`]]);
    expect(w.records()).toEqual([`${kept.id}@eth0`]);
    expect([w.saved(kept), w.saved(gone), w.saved(unlisted)]).toEqual([true, false, false]);
  });

  it('STATUS: not ready when live pods fill the range; ready once a pod is gone whose address an ADD would reclaim', async () => {
    const w = world();
    const pods = await fill(w);
    const full = await flannelDirect(w, 'STATUS');
    expect(full.code).toBe(1);
    expect(JSON.parse(full.stdout)).toMatchObject({ code: 50, msg: expect.stringContaining('no IP addresses available in range set') });
    w.vanish(pods[4]!);
    const ready = await flannelDirect(w, 'STATUS');
    expect(ready.code, ready.stdout).toBe(0);
    // STATUS only looks: the dead attachment is still there for the next ADD.
    expect(w.leases().get(pods[4]!.ip!)).toBe(`${pods[4]!.id}\r\neth0`);
    expect(w.records()).toContain(`${pods[4]!.id}@eth0`);
  });
});

describe('cnitool attachments and reclaim', () => {
  it('lists every lease with its record and state, and reclaims the dead on request', async () => {
    const w = world();
    const pods = Array.from({ length: 3 }, () => w.pod());
    for (const p of pods) await w.add(p);
    // A lease without a record (as the reference would leave it).
    fs.writeFileSync(path.join(w.node.varLibCni, 'networks', 'cbr0', '10.244.1.6'), 'ref-x\r\neth0');
    w.vanish(pods[1]!);

    const list = await cnitoolOperator(w.node, 'attachments', w.call);
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout.split('\n');
    expect(rows[0]).toBe(`network cbr0: leases in /var/lib/cni/networks/cbr0, records in /var/lib/cni/networks/.weft/cbr0/attachments`);
    expect(rows[1]).toMatch(/^CONTAINER +IFNAME +ADDRESSES +STATE +NETNS$/);
    const row = (id: string) => rows.find((r) => r.startsWith(`${id} `))?.split(/ {2,}/);
    expect(row(pods[0]!.id)).toEqual([pods[0]!.id, 'eth0', pods[0]!.ip, 'alive', pods[0]!.netns]);
    expect(row(pods[1]!.id)).toEqual([pods[1]!.id, 'eth0', pods[1]!.ip, 'dead', pods[1]!.netns, `its network namespace ${pods[1]!.netns} is gone`]);
    expect(row('ref-x')).toEqual(['ref-x', 'eth0', '10.244.1.6', 'no record', '-', 'never reclaimed: leased by another plugin, or before weft kept records']);
    expect(list.stdout).toContain('1 attachment(s) of pods that are gone hold addresses: "cnitool reclaim cbr0" releases them');

    const reclaim = await cnitoolOperator(w.node, 'reclaim', w.call);
    expect(reclaim.code, reclaim.stderr).toBe(0);
    expect(reclaim.stdout).toBe(`reclaimed ${pods[1]!.id} eth0 ${pods[1]!.ip}: its network namespace ${pods[1]!.netns} is gone\n`);
    expect(w.leases().has(pods[1]!.ip!)).toBe(false);
    expect(w.saved(pods[1]!)).toBe(false);
    const again = await cnitoolOperator(w.node, 'reclaim', w.call);
    expect(again.stdout).toBe('nothing to reclaim: no attachment of network cbr0 belongs to a pod that is provably gone\n');
    const after = await cnitoolOperator(w.node, 'attachments', w.call);
    expect(after.stdout).not.toContain(pods[1]!.id);
    expect(after.stdout).not.toContain('dead');
  });
});

describe('races', () => {
  it('a runtime DEL of a pod that is gone while an ADD reclaims it: both succeed, and the address has one owner', async () => {
    const w = world();
    const pods = await fill(w);
    const gone = pods[0]!;
    w.vanish(gone);
    const next = w.pod();
    const [del, add] = await Promise.all([cnitool(w.node, 'del', w.call, gone.netns), cnitool(w.node, 'add', w.call, next.netns)]);
    expect(del.code, del.stderr).toBe(0);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).ips[0].address).toBe(`${gone.ip}/29`);
    expect(w.leases().get(gone.ip!)).toBe(`${next.id}\r\neth0`);
    expect(w.records()).not.toContain(`${gone.id}@eth0`);
    expect(w.saved(gone)).toBe(false);
  });

  it('a path recreated and ADDed again under the same container ID while another ADD reclaims the old attachment: no address has two live owners', async () => {
    for (let round = 0; round < 3; round++) {
      const w = world();
      const pods = await fill(w);
      const reused = pods[1]!;
      // cnitool's container ID is the path's hash: the new namespace at the same path is the same attachment to it.
      recreateNetns(reused.ns);
      const next = w.pod();
      const [again, add] = await Promise.all([cnitool(w.node, 'add', w.call, reused.netns), cnitool(w.node, 'add', w.call, next.netns)]);
      // At most one of them can have an address: the range has room for one.
      const live = [...pods.filter((p) => p !== reused), ...(again.code === 0 ? [reused] : []), ...(add.code === 0 ? [next] : [])];
      expect(again.code === 0 || add.code === 0, `${again.stderr}\n${add.stderr}`).toBe(true);
      const addrs = live.map((p) => podAddr(p.ns));
      expect(addrs.every((a) => a.length === 1), JSON.stringify(addrs)).toBe(true);
      expect(new Set(addrs.flat()).size, JSON.stringify(addrs)).toBe(live.length);
      const leases = w.leases();
      for (const [i, p] of live.entries()) expect(leases.get(addrs[i]![0]!), p.id).toBe(`${p.id}\r\neth0`);
      expect(leases.size).toBe(live.length);
    }
  }, 120_000);
});
