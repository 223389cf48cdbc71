import fs from 'node:fs';
import path from 'node:path';
import { setSelf } from '../../../src/cni/self.ts';
import { loadPlugin } from '../../../src/plugins/registry.ts';
import { type Plugin, runPlugin } from '../../../src/cni/skel.ts';
import { FakeHns } from '../../os/windows/fake-hns/fake-hns.ts';
import { cniBin, tempDir } from '../../helpers/tmp.ts';

// Drives win-bridge / win-overlay in process against the HNS stand-in, with
// weft's host-local (in process too) as IPAM in a temporary dataDir.
// weft-hns.ps1 is found beside weft's executable: the built dist/cni-bin.

setSelf(path.join(cniBin, 'weft.cjs'), loadPlugin);

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

export async function cni(plugin: Plugin, command: string, hns: FakeHns, conf: unknown, inv: Invoke): Promise<Outcome> {
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

/** A node as flanneld leaves it for host-gw: L2Bridge network cbr0 with the host's bridge endpoint at .2. */
export function hostGwNode(opts: { name?: string; hidden?: number } = {}) {
  const hns = new FakeHns();
  const name = opts.name ?? 'cbr0';
  const networkId = hns.addNetwork({
    name,
    type: 'L2Bridge',
    subnets: [{ prefix: '10.244.1.0/24', gateway: '10.244.1.1' }],
    managementIP: '192.168.1.10',
    ...(opts.hidden ? { hiddenForLookups: opts.hidden } : {}),
  });
  hns.update((s) =>
    s.endpoints.push({
      id: 'aaaaaaaa-0000-4000-8000-000000000002',
      name: `${name}_ep`,
      networkId,
      ip: '10.244.1.2',
      prefixLength: 24,
      mac: '00-15-5D-00-00-02',
      dns: { servers: [], search: [], options: [] },
      policies: [],
      api: 1,
    }),
  );
  return { hns, name, networkId, dataDir: tempDir('weft-ipam-') };
}

/** A node as flanneld leaves it for vxlan: Overlay network flannel.4096. */
export function vxlanNode(opts: { name?: string } = {}) {
  const hns = new FakeHns();
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
export function apiCalls(hns: FakeHns, namespace?: string): string[] {
  return hns
    .state()
    .ops.filter((o) => o.op === 'HNSCall' || String(o.op).startsWith('Hcn'))
    .map((o) => (o.op === 'HNSCall' ? `${o.method} ${String(o.path)}` : String(o.op)))
    .map((c) => (namespace ? c.replace(new RegExp(namespace, 'i'), '<ns>') : c));
}

/** Every PowerShell start used the same command line and the same script. */
export function expectFixedCommandLines(hns: FakeHns, count: number): void {
  const calls = hns.calls();
  if (calls.length !== count) throw new Error(`expected ${count} PowerShell starts, saw ${calls.length}`);
  const first = calls[0];
  for (const c of calls) {
    if (JSON.stringify(c.argv) !== JSON.stringify(first?.argv) || c.scriptSha256 !== first?.scriptSha256 || !c.scriptSha256) {
      throw new Error(`PowerShell command lines differ: ${JSON.stringify(c)}`);
    }
  }
}
