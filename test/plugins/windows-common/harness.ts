import fs from 'node:fs';
import path from 'node:path';
import { vi } from 'vitest';
import { setSelf } from '../../../src/cni/self.ts';
import { loadPlugin } from '../../../src/plugins/registry.ts';
import { type Plugin, runPlugin } from '../../../src/cni/skel.ts';
import { HnsStandin } from '../../os/windows/hns-standin/standin.ts';
import { cniBin, tempDir } from '../../helpers/tmp.ts';

// Drives win-bridge / win-overlay in process, with weft's host-local (in
// process too) as IPAM in a temporary dataDir. Every HNS command runs the
// shipped weft-hns.ps1 in real PowerShell, started by weft's runner, against
// the native HNS stand-in. weft-hns.ps1 is found beside weft's executable:
// the built dist/cni-bin, where the test setup compiled its assembly.

setSelf(path.join(cniBin, 'weft.cjs'), loadPlugin);

// Each command here starts a real PowerShell (about a second of CPU, far more
// on a loaded 2-core machine): a minute is too little for a test of several.
vi.setConfig({ testTimeout: 180_000 });

/** CNI_PATH for the IPAM delegate: weft's own build, so host-local runs in process. */
export const IPAM_CNI_PATH = cniBin;

export interface Outcome {
  code: number;
  stdout: string;
  /** The parsed stdout: a result on success, the error object on failure. */
  json: Record<string, any>;
}

export interface Invoke {
  containerId?: string;
  netns: string;
  ifName?: string;
  env?: Record<string, string>;
}

export async function cni(plugin: Plugin, command: string, hns: HnsStandin, conf: unknown, inv: Invoke): Promise<Outcome> {
  const env = {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: inv.containerId ?? 'c1',
    CNI_NETNS: inv.netns,
    CNI_IFNAME: inv.ifName ?? 'eth0',
    CNI_PATH: IPAM_CNI_PATH,
    ...hns.env,
    ...inv.env,
  };
  const outcome = await runPlugin(plugin, {
    env,
    readStdin: () => Buffer.from(typeof conf === 'string' ? conf : JSON.stringify(conf)),
    stderr: () => {},
  });
  return { code: outcome.exitCode, stdout: outcome.stdout, json: outcome.stdout ? JSON.parse(outcome.stdout) : {} };
}

/** The addresses host-local has leased in `dataDir` for `network`. */
export function leases(dataDir: string, network: string): string[] {
  const dir = path.join(dataDir, network);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'))
    .sort();
}

/**
 * A node as flanneld leaves it for host-gw: L2Bridge network cbr0 with the
 * host's bridge endpoint cbr0_ep at .2 (unless `hostEndpoint` is false).
 */
export function hostGwNode(opts: { name?: string; hidden?: number; hostEndpoint?: boolean } = {}) {
  const hns = new HnsStandin();
  const name = opts.name ?? 'cbr0';
  const networkId = hns.addNetwork({
    name,
    type: 'L2Bridge',
    subnets: [{ prefix: '10.244.1.0/24', gateway: '10.244.1.1' }],
    managementIP: '192.168.1.10',
    ...(opts.hidden ? { hiddenForLookups: opts.hidden } : {}),
  });
  if (opts.hostEndpoint !== false) {
    hns.addEndpoint({ id: 'aaaaaaaa-0000-4000-8000-000000000002', name: `${name}_ep`, networkId, ip: '10.244.1.2', mac: '00-15-5D-00-00-02' });
  }
  return { hns, name, networkId, dataDir: tempDir('weft-ipam-') };
}

/** A node as flanneld leaves it for vxlan: Overlay network flannel.4096. */
export function vxlanNode(opts: { name?: string } = {}) {
  const hns = new HnsStandin();
  const name = opts.name ?? 'flannel.4096';
  const networkId = hns.addNetwork({
    name,
    type: 'Overlay',
    subnets: [{ prefix: '10.244.2.0/24', gateway: '10.244.2.1' }],
    managementIP: '192.168.1.20',
  });
  return { hns, name, networkId, dataDir: tempDir('weft-ipam-') };
}

/** The HNS API calls made so far, in order: "GET /networks/" (v1) or "HcnEnumerateNetworks" (HCN). */
export function apiCalls(hns: HnsStandin, namespace?: string): string[] {
  return hns
    .state()
    .ops.filter((o) => o.op === 'HNSCall' || /^Hcn(Enumerate|Create|Delete|Modify)/.test(String(o.op)))
    .map((o) => (o.op === 'HNSCall' ? `${o.method} ${String(o.path)}` : String(o.op)))
    .map((c) => (namespace ? c.replace(new RegExp(namespace, 'i'), '<ns>') : c));
}

/** Every PowerShell start used the same command line and the same script. */
export function expectFixedCommandLines(hns: HnsStandin, count: number): void {
  const calls = hns.calls();
  if (calls.length !== count) throw new Error(`expected ${count} PowerShell starts, saw ${calls.length}: ${JSON.stringify(calls.map((c) => [c.pid, c.request?.slice(0, 300)]))}`);
  const first = calls[0];
  for (const c of calls) {
    if (JSON.stringify(c.argv) !== JSON.stringify(first?.argv) || c.scriptSha256 !== first?.scriptSha256 || !c.scriptSha256) {
      throw new Error(`PowerShell command lines differ: ${JSON.stringify(c)}`);
    }
  }
}

export interface CommandOutcome {
  code: number | null;
  stdout: string;
  stderr?: string;
}

/** Six commands, each a PowerShell start: on a busy 2-core machine that is more than the default minute. */
export const CYCLE_TIMEOUT_MS = 240_000;

/** Run one CNI command for the cycle's container: its netns, and for CHECK the previous result. */
export type CycleRunner = (command: 'ADD' | 'CHECK' | 'DEL', netns: string, prevResult?: unknown) => Promise<CommandOutcome>;

/**
 * The whole life of a pod's network: ADD, CHECK, a repeated ADD (same
 * result, nothing doubled), DEL, ADD again, then DEL after the runtime has
 * removed the namespace. Returns the first ADD's result.
 */
export async function fullCycle(hns: HnsStandin, endpoint: string, leased: () => string[], run: CycleRunner): Promise<Record<string, any>> {
  const ok = (o: CommandOutcome, what: string) => {
    if (o.code !== 0) throw new Error(`${what} failed: ${o.stdout}${o.stderr ?? ''}`);
    return o.stdout ? (JSON.parse(o.stdout) as Record<string, any>) : {};
  };
  const ns = hns.addNamespace();
  const first = ok(await run('ADD', ns), 'ADD');
  const attachedHere = () => hns.namespace(ns)!.endpointIds.includes(hns.endpoint(endpoint)?.id ?? '-');
  if (!attachedHere() || leased().length !== 1) throw new Error('ADD left no attached endpoint or no lease');
  ok(await run('CHECK', ns, first), 'CHECK');
  const again = ok(await run('ADD', ns), 'repeated ADD');
  if (JSON.stringify(again) !== JSON.stringify(first)) throw new Error(`repeated ADD answered ${JSON.stringify(again)}, first ${JSON.stringify(first)}`);
  if (hns.state().endpoints.filter((e) => e.name === endpoint).length !== 1 || leased().length !== 1) throw new Error('repeated ADD doubled something');
  ok(await run('DEL', ns), 'DEL');
  if (hns.endpoint(endpoint) || leased().length !== 0 || hns.namespace(ns)!.endpointIds.length !== 0) throw new Error('DEL left something behind');
  const ns2 = hns.addNamespace();
  ok(await run('ADD', ns2), 'ADD after DEL');
  // containerd removed the namespace before the DEL (a node restart, a crashed sandbox).
  hns.update((s) => {
    s.namespaces = s.namespaces.filter((n) => n.id !== ns2);
    for (const e of s.endpoints) if (e.namespaceId === ns2) delete e.namespaceId;
  });
  ok(await run('DEL', ns2), 'DEL after the namespace is gone');
  if (hns.endpoint(endpoint) || leased().length !== 0) throw new Error('DEL after the namespace was gone left something behind');
  expectFixedCommandLines(hns, 6);
  return first;
}
