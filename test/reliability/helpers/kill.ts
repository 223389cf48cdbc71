import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { deleteNetns, ipJson } from '../../helpers/netns.ts';
import { cniBin, tempDir } from '../../helpers/tmp.ts';
import { type CniRun, NETWORK, type Pod, bounded, pluginEnv, pods, resultIP, spawnKillable, subnetFor, weftNode } from './node.ts';
import { expectWholeAttachmentRecords, expectWholeHostLocalStore } from './store-check.ts';

// kill -9 at random moments: many ADDs, a share of them SIGKILLed after a
// random delay (anywhere in the process's life: start-up, waiting for the
// lock, inside it, writing files, running tools), then the runtime's
// clean-up: DEL of every attachment it does not keep (some of those killed
// too), and GC listing the attachments it keeps. What must hold afterwards:
// every file of the store is whole, every lease belongs to a kept attachment
// and every kept attachment still has exactly the addresses it was given.

export interface KillOptions {
  adds: number;
  concurrency: number;
  /** Share of processes that get a kill timer. */
  killRatio: number;
}

const pick = <T>(xs: readonly T[], ratio: number): T[] => xs.filter(() => Math.random() < ratio);

/** A lock untouched this long is a dead holder's (the lock's stale time, 4 s, and some). */
const STALE_LOCK_MS = 4500;

/**
 * When to SIGKILL the i-th process, if at all. A process alone lives `life`
 * ms; with others it lives longer, up to about `window`. Every fourth one is
 * killed within its lone lifetime, so kills are certain; the others, at
 * `ratio`, anywhere up to the end of a loaded lifetime (the later steps:
 * lock, leases, tools).
 */
function killDelay(i: number, ratio: number, life: number, window: number): number | undefined {
  if (ratio === 0) return undefined;
  if (i % 4 === 0) return Math.random() * life * 0.8;
  return Math.random() < ratio ? Math.random() * window : undefined;
}

interface Attachment {
  containerId: string;
  ifName: string;
}

const key = (a: Attachment) => `${a.containerId}\r\n${a.ifName}`;

/** Every IPv4 and IPv6 address of an ADD result (CNI 1.x). */
const resultIPs = (stdout: string): string[] =>
  ((JSON.parse(stdout) as { ips?: { address: string }[] }).ips ?? []).map((i) => i.address.split('/')[0]!);

/** The store is whole (see store-check.ts) and every lease belongs to one of `owners`. */
function expectWholeStoreOf(dataDir: string, network: string, owners: ReadonlySet<string>): Map<string, string> {
  const leases = expectWholeHostLocalStore(dataDir, network);
  for (const [ip, owner] of leases) expect(owners.has(owner), `lease ${ip} holds ${JSON.stringify(owner)}, not a kept attachment`).toBe(true);
  expect(fs.existsSync(path.join(dataDir, '.weft', network, 'lock')), 'lock left behind').toBe(false);
  return leases;
}

/** What the survivors had to repair, counted from weft's log. */
function repairs(logFile: string): Record<string, number> {
  let text = '';
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    // nothing logged
  }
  const count = (s: string) => text.split('\n').filter((l) => l.includes(s)).length;
  return {
    staleLocksBroken: count('breaking a stale lock'),
    indexRepairedFromIntent: count('index repaired'),
    indexRebuilt: count('index rebuilt'),
  };
}

export interface KillReport {
  killed: number;
  ms: number;
  repairs: Record<string, number>;
}

export async function hostLocalKillStorm(opts: KillOptions): Promise<KillReport> {
  const started = Date.now();
  const dataDir = tempDir('weft-rel-kill-');
  const logFile = path.join(tempDir('weft-rel-log-'), 'weft.log');
  const network = 'killnet';
  const conf = JSON.stringify({
    cniVersion: '1.1.0',
    name: network,
    type: 'host-local',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.40.0.0/22' }], [{ subnet: 'fd00:40::/64' }]] },
  });
  const file = path.join(cniBin, 'host-local');
  const containers = Math.ceil(opts.adds * 0.9);
  // A tenth of the containers get a second interface: GC must keep attachments, not containers.
  const attachments: Attachment[] = Array.from({ length: opts.adds }, (_, i) => ({
    containerId: `kill-c${i % containers}`,
    ifName: i < containers ? 'eth0' : 'net1',
  }));
  const env = (command: string, a: Attachment) =>
    pluginEnv({ CNI_COMMAND: command, CNI_CONTAINERID: a.containerId, CNI_IFNAME: a.ifName, CNI_NETNS: '/nonexistent/netns', CNI_PATH: cniBin, WEFT_LOG_FILE: logFile });
  // Spread the kills over a process's whole life, measured here under this load.
  const probe = await spawnKillable(file, [], env('ADD', { containerId: 'probe', ifName: 'eth0' }), conf).done;
  expect(probe.code, probe.stdout).toBe(0);
  const life = Math.max(100, probe.endedAt - probe.startedAt);
  // With `concurrency` processes sharing 2 cores, each lives about that many times longer.
  const killWindow = life * Math.max(1, opts.concurrency / 2) * 1.2;
  let killed = 0;
  const runOne = (command: string, a: Attachment, i: number, killRatio: number) => async () => {
    const r = await spawnKillable(file, [], env(command, a), conf, killDelay(i, killRatio, life, killWindow)).done;
    if (r.signal === 'SIGKILL') killed++;
    else expect(r.code, `${command} ${key(a)}: ${r.stdout}${r.stderr}`).toBe(0);
    return r;
  };

  const adds = await bounded(opts.concurrency, attachments.map((a, i) => runOne('ADD', a, i, opts.killRatio)));
  const given = new Map<string, string[]>();
  adds.forEach((r, i) => {
    if (r.code === 0) given.set(key(attachments[i]!), resultIPs(r.stdout));
  });
  // No address went to two attachments.
  const all = [...given.values()].flat();
  expect(new Set(all).size).toBe(all.length);

  // The runtime keeps half of what it saw succeed and cleans up everything else.
  const keep = new Set(pick([...given.keys()], 0.5));
  const leaving = attachments.filter((a) => !keep.has(key(a)));
  await bounded(opts.concurrency, leaving.map((a, i) => runOne('DEL', a, i + 1, opts.killRatio / 2)));
  const valid = [...keep].map((k) => {
    const [containerID, ifname] = k.split('\r\n');
    return { containerID, ifname };
  });
  const gcConf = JSON.stringify({ ...JSON.parse(conf), 'cni.dev/valid-attachments': valid });
  const gc = await spawnKillable(file, [], pluginEnv({ CNI_COMMAND: 'GC', CNI_PATH: cniBin }), gcConf).done;
  expect(gc.code, gc.stdout).toBe(0);

  const leases = expectWholeStoreOf(dataDir, network, new Set([...keep, 'probe\r\neth0']));
  for (const k of keep) {
    const held = [...leases].filter(([, owner]) => owner === k).map(([ip]) => ip).sort();
    expect(held, k).toEqual([...given.get(k)!].sort());
  }
  expect(fs.readdirSync(dataDir).sort()).toEqual(['.weft', network]);
  return { killed, ms: Date.now() - started, repairs: repairs(logFile) };
}

/** Every address on each pod's eth0 (none when the pod has no eth0). */
function podAddresses(all: readonly Pod[]): Map<Pod, string[]> {
  const out = new Map<Pod, string[]>();
  for (const p of all) {
    const name = path.basename(p.netns);
    let addrs: string[] = [];
    try {
      const links = ipJson<{ addr_info: { local: string; scope: string }[] }[]>({ name, path: p.netns }, 'addr', 'show', 'dev', 'eth0');
      addrs = (links[0]?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => a.local);
    } catch {
      // No eth0: the ADD was killed before the pod got one, or undid itself.
    }
    out.set(p, addrs);
  }
  return out;
}

/**
 * The same through flannel → bridge → host-local in network namespaces,
 * with reclaiming: after the first ADDs, a third of the pods vanish (their
 * namespaces go without a DEL) and more pods are ADDed than the range has
 * free, so ADDs reclaim while they, too, are killed. No address may then
 * have two live owners; after the runtime's DELs and GC, leases, flannel's
 * saved configs, attachment records, veth pairs and masquerade rules must
 * belong to kept pods only.
 */
export async function flannelKillStorm(opts: KillOptions): Promise<KillReport & { reclaimed: number }> {
  const started = Date.now();
  const logFile = path.join(tempDir('weft-rel-log-'), 'weft.log');
  const { prefix, capacity } = subnetFor(opts.adds);
  const node = weftNode({ prefix });
  const conf = { ...node.conf, cniVersion: '1.1.0' };
  const all = pods('fk', opts.adds);
  const probe = await node.flannel('ADD', all[0]!);
  expect(probe.code, probe.stdout + probe.stderr).toBe(0);
  const life = Math.max(150, probe.endedAt - probe.startedAt);
  const killWindow = life * Math.max(1, opts.concurrency / 2) * 1.2;
  let killed = 0;
  let lastKill = 0;
  const runOne = (command: string, pod: Pod, i: number, killRatio: number, mayExhaust = false) => async (): Promise<CniRun> => {
    const k = spawnKillable(
      'ip',
      ['netns', 'exec', node.host.name, path.join(node.cniPath, 'flannel')],
      pluginEnv({ CNI_COMMAND: command, CNI_CONTAINERID: pod.id, CNI_NETNS: pod.netns, CNI_IFNAME: 'eth0', CNI_PATH: node.cniPath, WEFT_LOG_FILE: logFile }),
      JSON.stringify(conf),
      killDelay(i, killRatio, life, killWindow),
    );
    const r = await k.done;
    if (r.signal === 'SIGKILL') {
      killed++;
      lastKill = Math.max(lastKill, r.endedAt);
    } else if (!(mayExhaust && r.code === 1 && r.stdout.includes('no IP addresses available in range set'))) {
      expect(r.code, `${command} ${pod.id}: ${r.stdout}${r.stderr}`).toBe(0);
    }
    return r;
  };
  const adds = [probe, ...(await bounded(opts.concurrency, all.slice(1).map((p, i) => runOne('ADD', p, i, opts.killRatio))))];
  const ok = all.filter((_, i) => adds[i]!.code === 0);
  const ips = ok.map((p) => resultIP(adds[all.indexOf(p)]!.stdout));
  expect(new Set(ips).size).toBe(ips.length);

  // A third of the pods that got an address vanish; the range is filled (no
  // kills), then more pods come, killed as before, that can only have what
  // the vanished pods held; the last of them is not killed, so one ADD at
  // least gets to reclaim.
  const vanished = new Set(ok.filter((_, i) => i % 3 === 0));
  for (const p of vanished) deleteNetns(path.basename(p.netns));
  const fill = pods('ff', capacity - node.leases().size, opts.adds);
  const fillAdds = await bounded(opts.concurrency, fill.map((p, i) => runOne('ADD', p, i, 0)));
  expect(node.leases().size).toBe(capacity);
  const late = pods('fr', 2 * vanished.size + 3, opts.adds + fill.length);
  const lateAdds = await bounded(opts.concurrency, late.slice(0, -1).map((p, i) => runOne('ADD', p, i, opts.killRatio, true)));
  lateAdds.push(await runOne('ADD', late.at(-1)!, 1, 0, true)());
  const more = [...fill, ...late];
  const moreAdds = [...fillAdds, ...lateAdds];
  const everyone = [...all, ...more];
  const result = (p: Pod) => (all.includes(p) ? adds[all.indexOf(p)]! : moreAdds[more.indexOf(p)]!);
  const reclaimed = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('reclaimed the attachment of a pod that is gone')).length;
  expect(reclaimed, 'no ADD reclaimed').toBeGreaterThan(0);

  // No address has two live owners: each address on a live pod is on no other, and leased to that pod.
  const live = everyone.filter((p) => !vanished.has(p));
  const onPods = podAddresses(live);
  const owners = new Map<string, Pod>();
  const leasesNow = node.leases();
  for (const [p, addrs] of onPods) {
    for (const a of addrs) {
      expect(owners.get(a)?.id, `${a} on ${p.id} and ${owners.get(a)?.id}`).toBeUndefined();
      owners.set(a, p);
      expect(leasesNow.get(a), `${a} on ${p.id}`).toBe(`${p.id}\r\neth0`);
    }
    if (result(p).code === 0) expect(addrs, p.id).toEqual([resultIP(result(p).stdout)]);
  }

  // The runtime keeps half of the live pods it saw succeed and cleans up everything else, the vanished too.
  const keep = new Set(pick(live.filter((p) => result(p).code === 0), 0.5).map((p) => p.id));
  await bounded(opts.concurrency, everyone.filter((p) => !keep.has(p.id)).map((p, i) => runOne('DEL', p, i, 0)));
  // A lock a killed process held is broken once stale: GC after that leaves none.
  await new Promise((r) => setTimeout(r, Math.max(0, lastKill + STALE_LOCK_MS - Date.now())));
  const gcConf = { ...conf, 'cni.dev/valid-attachments': [...keep].map((id) => ({ containerID: id, ifname: 'eth0' })) };
  const gc = await node.exec('flannel', 'GC', { id: '', netns: '' }, JSON.stringify(gcConf));
  expect(gc.code, gc.stdout + gc.stderr).toBe(0);

  const kept = everyone.filter((p) => keep.has(p.id));
  const leases = expectWholeStoreOf(node.leaseDir, NETWORK, new Set(kept.map((p) => `${p.id}\r\neth0`)));
  expect(leases.size).toBe(kept.length);
  for (const p of kept) expect(leases.get(resultIP(result(p).stdout))).toBe(`${p.id}\r\neth0`);
  expect(node.scratchFiles()).toEqual(kept.map((p) => p.id).sort());
  expect(expectWholeAttachmentRecords(node.leaseDir, NETWORK)).toEqual(kept.map((p) => `${p.id}@eth0`).sort());
  expect(node.veths()).toHaveLength(kept.length);
  const rules = node.masqRules().filter((l) => l.startsWith('-A POSTROUTING'));
  expect(rules).toHaveLength(kept.length);
  for (const p of kept) expect(rules.some((l) => l.includes(`id: \\"${p.id}\\"`) || l.includes(`id: "${p.id}"`)), p.id).toBe(true);

  // And the kept pods still DEL cleanly.
  for (const p of kept) expect((await node.flannel('DEL', p)).code).toBe(0);
  expect(node.leases().size).toBe(0);
  expect(node.veths()).toEqual([]);
  expect(node.masqRules()).toEqual([]);
  expect(expectWholeAttachmentRecords(node.leaseDir, NETWORK)).toEqual([]);
  return { killed, ms: Date.now() - started, repairs: repairs(logFile), reclaimed };
}
