import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { deleteNetns, ipJson } from '../../helpers/netns.ts';
import { type CniRun, type Pod, NETWORK, bounded, pods, resultIP, subnetFor, weftNode } from './node.ts';
import { expectWholeAttachmentRecords, expectWholeHostLocalStore } from './store-check.ts';

// The ADD/DEL storm: `n` pods ADDed at once through flannel → bridge →
// host-local (one weft process per command, as a runtime execs them), then
// half of them DELeted while new pods are ADDed; then some pods vanish (their
// namespaces go without a DEL) and as many pods as the range then holds,
// plus one per vanished pod, are ADDed at once, so the range runs out and the
// ADDs reclaim the vanished pods' addresses; then everything is DELeted
// (with repeated DELs of pods already gone, as a runtime retries). Every
// command must succeed, no address may be held by two pods at any moment,
// and nothing may be left behind.

export interface StormOptions {
  pods: number;
  /** Commands in flight at once. */
  concurrency: number;
  /** Pods whose namespace goes without a DEL. */
  vanish: number;
}

interface Life {
  pod: Pod;
  ip: string;
  add: CniRun;
  del?: CniRun;
  /** When its namespace went away without a DEL: from then on it holds nothing. */
  vanishedAt?: number;
}

const shuffle = <T>(xs: T[]): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
};

function expectOk(r: CniRun, what: string): void {
  expect(r.code, `${what}: exit ${r.code} signal ${r.signal ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
}

/**
 * Two pods may have held one address only one after the other: the later
 * one's ADD cannot have finished before the earlier one's DEL started, or
 * before its namespace went away.
 */
function expectNoOverlappingLeases(lives: Life[]): void {
  const byIp = new Map<string, Life[]>();
  for (const l of lives) byIp.set(l.ip, [...(byIp.get(l.ip) ?? []), l]);
  for (const [ip, holders] of byIp) {
    holders.sort((a, b) => a.add.startedAt - b.add.startedAt);
    for (let i = 1; i < holders.length; i++) {
      const earlier = holders[i - 1]!;
      const later = holders[i]!;
      const end = earlier.vanishedAt ?? earlier.del?.startedAt;
      expect(end, `${ip} given to ${later.pod.id} while ${earlier.pod.id} was never deleted`).toBeDefined();
      expect(end!, `${ip} held by ${earlier.pod.id} and ${later.pod.id} at once`).toBeLessThan(later.add.endedAt);
    }
  }
}

export async function adDelStorm(opts: StormOptions): Promise<{ phases: Record<string, number>; reclaimed: number }> {
  const { prefix, capacity } = subnetFor(opts.pods);
  const node = weftNode({ prefix });
  const phases: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const out = await f();
    phases[name] = Date.now() - t;
    return out;
  };

  const first = pods('storm', opts.pods);
  const extra = pods('late', Math.floor(opts.pods / 4), opts.pods);
  const lives = new Map<string, Life>();
  const live = new Set<string>();

  const add = async (pod: Pod) => {
    const r = await node.flannel('ADD', pod);
    expectOk(r, `ADD ${pod.id}`);
    lives.set(pod.id, { pod, ip: resultIP(r.stdout), add: r });
    live.add(pod.id);
  };
  const del = async (pod: Pod) => {
    const r = await node.flannel('DEL', pod);
    expectOk(r, `DEL ${pod.id}`);
    const l = lives.get(pod.id);
    if (l && !l.del) l.del = r;
    live.delete(pod.id);
  };

  /** The store holds exactly one lease per live pod, with the address its ADD reported and its pod has. */
  const expectStoreMatchesLivePods = () => {
    const leases = node.leases();
    const owners = new Map<string, string>();
    for (const [ip, content] of leases) {
      const [id, ifName, ...rest] = content.split('\r\n');
      expect(rest, `lease ${ip}: ${JSON.stringify(content)}`).toEqual([]);
      expect(ifName).toBe('eth0');
      expect(owners.has(id!), `${id} holds two leases`).toBe(false);
      owners.set(id!, ip);
    }
    expect([...owners.keys()].sort()).toEqual([...live].sort());
    for (const id of live) {
      const l = lives.get(id)!;
      expect(owners.get(id), id).toBe(l.ip);
      const addrs = ipJson<{ addr_info: { local: string }[] }[]>({ name: path.basename(l.pod.netns), path: l.pod.netns }, 'addr', 'show', 'dev', 'eth0');
      expect(addrs[0]!.addr_info.map((a) => a.local)).toContain(l.ip);
    }
    const ips = [...live].map((id) => lives.get(id)!.ip);
    expect(new Set(ips).size).toBe(ips.length);
  };

  // 1. Every pod ADDed at once.
  await timed('add', () => bounded(opts.concurrency, shuffle(first.map((p) => () => add(p)))));
  expectStoreMatchesLivePods();
  expect(node.scratchFiles().filter((f) => !f.startsWith('.'))).toHaveLength(opts.pods);

  // 2. Half DELeted while new pods are ADDed, interleaved.
  const leaving = first.slice(0, Math.floor(opts.pods / 2));
  await timed('mixed', () =>
    bounded(opts.concurrency, shuffle([...leaving.map((p) => () => del(p)), ...extra.map((p) => () => add(p))])),
  );
  expectStoreMatchesLivePods();

  // 3. Some pods vanish; the range is then filled past what is free, so the ADDs must reclaim.
  const staying = [...first.slice(leaving.length), ...extra];
  const vanished = staying.slice(0, opts.vanish);
  for (const p of vanished) {
    deleteNetns(path.basename(p.netns));
    lives.get(p.id)!.vanishedAt = Date.now();
    live.delete(p.id);
  }
  const fillers = pods('fill', capacity - node.leases().size + vanished.length, opts.pods * 2);
  await timed('reclaim', () => bounded(opts.concurrency, shuffle(fillers.map((p) => () => add(p)))));
  expectStoreMatchesLivePods();
  expect(node.leases().size).toBe(capacity);
  // Each vanished pod reclaimed exactly once (the notice goes to the ADD's stderr: weft's log is off).
  const notices = fillers.flatMap((p) => lives.get(p.id)!.add.stderr.split('\n')).filter((l) => l.includes('reclaimed the attachment of a pod that is gone'));
  const reclaimed = notices.length;
  expect(notices.map((l) => /containerId="([^"]+)"/.exec(l)?.[1]).sort()).toEqual(vanished.map((p) => p.id).sort());

  // 4. Everything DELeted (the vanished pods too, once the runtime notices), with retried DELs of pods already gone in between.
  const remaining = [...staying.slice(opts.vanish), ...vanished, ...fillers];
  await timed('del', () =>
    bounded(opts.concurrency, shuffle([...remaining.map((p) => () => del(p)), ...leaving.slice(0, 16).map((p) => () => del(p))])),
  );

  expectNoOverlappingLeases([...lives.values()]);
  expect(live.size).toBe(0);
  expect([...expectWholeHostLocalStore(node.leaseDir, NETWORK).keys()]).toEqual([]);
  expect(expectWholeAttachmentRecords(node.leaseDir, NETWORK)).toEqual([]);
  expect(fs.existsSync(path.join(node.leaseDir, '.weft', NETWORK, 'lock')), 'lock left behind').toBe(false);
  expect(node.scratchFiles()).toEqual([]);
  expect(node.veths()).toEqual([]);
  expect(node.masqRules()).toEqual([]);
  return { phases, reclaimed };
}
