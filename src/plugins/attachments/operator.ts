import type { Env } from '../../cni/env.ts';
import { formatIP } from '../../net/ip.ts';
import { leasesByOwner } from '../../ipam/host-local/queries.ts';
import { LINE_BREAK, leaseContent } from '../../ipam/host-local/store.ts';
import { loadBridgeConf } from '../bridge/conf.ts';
import { attachmentSite as flannelSite } from '../flannel/attachments.ts';
import { loadFlannelConf } from '../flannel/conf.ts';
import { flannelOS } from '../flannel/platform.ts';
import { HnsNetConfSchema, loadHnsConf } from '../windows-common/conf.ts';
import { attachmentSite as hnsSite } from '../windows-common/plugin.ts';
import { recordsWithLiveness, reclaimDead } from './reclaim.ts';
import { type AttachmentSite, attachmentsDir } from './store.ts';

// The operator's view (cnitool attachments|reclaim <network>): every
// address the network's host-local store has leased, by attachment, with
// the record weft keeps of it (namespace, alive or dead), and, on request,
// the reclaim an exhausted ADD would run.

export interface OperatorIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** A plugin of the network's list, with the config it gets (name and cniVersion injected). */
export interface ListedPlugin {
  type: string;
  stdin: Buffer;
}

const SITE_OF: Record<string, (stdin: Buffer) => AttachmentSite | undefined> = {
  flannel: (stdin) => {
    const conf = loadFlannelConf(stdin);
    return flannelSite(conf, flannelOS(conf));
  },
  bridge: (stdin) => loadBridgeConf(stdin, '').leaseStore,
  'win-bridge': (stdin) => hnsSite(loadHnsConf(HnsNetConfSchema, stdin)),
  'win-overlay': (stdin) => hnsSite(loadHnsConf(HnsNetConfSchema, stdin)),
};

/** The stores the network's weft plugins keep records beside (each once); none is said on stderr. */
function sitesOf(network: string, plugins: readonly ListedPlugin[], io: OperatorIO): AttachmentSite[] {
  const out: AttachmentSite[] = [];
  for (const p of plugins) {
    const site = SITE_OF[p.type]?.(p.stdin);
    if (site && !out.some((s) => s.dataDir === site.dataDir && s.network === site.network)) out.push(site);
  }
  if (out.length === 0) io.stderr(`network ${network} has no weft plugin that keeps attachment records (flannel; bridge, win-bridge or win-overlay with host-local IPAM)\n`);
  return out;
}

interface Row {
  container: string;
  ifName: string;
  addresses: string;
  state: string;
  netns: string;
  note: string;
}

/** Columns padded to their widest cell; the last one as it is. */
function table(rows: readonly Row[]): string {
  const cols: (keyof Row)[] = ['container', 'ifName', 'addresses', 'state', 'netns', 'note'];
  const head: Row = { container: 'CONTAINER', ifName: 'IFNAME', addresses: 'ADDRESSES', state: 'STATE', netns: 'NETNS', note: '' };
  const all = [head, ...rows];
  const width = cols.map((c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => cols.map((c, i) => (i === cols.length - 1 ? r[c] : r[c].padEnd(width[i]!))).join('  ').trimEnd()).join('\n');
}

async function listSite(site: AttachmentSite, env: Env): Promise<{ text: string; dead: number }> {
  const owners = await leasesByOwner(site.dataDir, site.network);
  const rows: Row[] = [];
  let dead = 0;
  // HNS namespaces are listed now (one PowerShell), if any record has one.
  for (const { stored, liveness } of await recordsWithLiveness(site, env)) {
    if (!('record' in stored)) {
      rows.push({ container: stored.key, ifName: '', addresses: '', state: 'unreadable', netns: '', note: `never reclaimed: ${stored.corrupt}` });
      continue;
    }
    const r = stored.record;
    const owner = leaseContent(r.containerId, r.ifName);
    const ips = owners.get(owner) ?? [];
    owners.delete(owner);
    if (liveness!.state === 'dead') dead++;
    rows.push({
      container: r.containerId,
      ifName: r.ifName,
      addresses: ips.map(formatIP).join(',') || '-',
      state: liveness!.state,
      netns: r.netns,
      note: liveness!.state === 'alive' ? '' : liveness!.why,
    });
  }
  for (const [owner, ips] of owners) {
    const [container, ifName = ''] = owner.split(LINE_BREAK);
    rows.push({
      container: container!,
      ifName,
      addresses: ips.map(formatIP).join(','),
      state: 'no record',
      netns: '-',
      note: 'never reclaimed: leased by another plugin, or before weft kept records',
    });
  }
  rows.sort((a, b) => a.container.localeCompare(b.container) || a.ifName.localeCompare(b.ifName));
  const title = `network ${site.network}: leases in ${site.dataDir}/${site.network}, records in ${attachmentsDir(site)}`;
  return { text: `${title}\n${rows.length > 0 ? table(rows) : '(no attachments)'}\n`, dead };
}

/** `cnitool attachments <network>`: resolves to the exit code. */
export async function listAttachments(network: string, plugins: readonly ListedPlugin[], env: Env, io: OperatorIO): Promise<number> {
  const sites = sitesOf(network, plugins, io);
  if (sites.length === 0) return 1;
  let dead = 0;
  for (const site of sites) {
    const listed = await listSite(site, env);
    io.stdout(listed.text);
    dead += listed.dead;
  }
  if (dead > 0) io.stdout(`${dead} attachment(s) of pods that are gone hold addresses: "cnitool reclaim ${network}" releases them\n`);
  return 0;
}

/** `cnitool reclaim <network>`: DEL every attachment whose pod is provably gone. */
export async function reclaimAttachments(network: string, plugins: readonly ListedPlugin[], env: Env, io: OperatorIO): Promise<number> {
  const sites = sitesOf(network, plugins, io);
  if (sites.length === 0) return 1;
  let reclaimed = 0;
  let failed = 0;
  for (const site of sites) {
    const out = await reclaimDead(site, env, { trigger: 'cnitool reclaim' });
    for (const r of out.reclaimed) io.stdout(`reclaimed ${r.record.containerId} ${r.record.ifName} ${r.addresses.join(',') || '-'}: ${r.why}\n`);
    for (const f of out.failed) io.stderr(`could not reclaim ${f.record.containerId} ${f.record.ifName}: ${f.error}\n`);
    if (out.busy > 0) io.stdout(`${out.busy} attachment(s) were being reclaimed or added by another process and were left alone\n`);
    reclaimed += out.reclaimed.length;
    failed += out.failed.length;
  }
  if (reclaimed === 0 && failed === 0) io.stdout(`nothing to reclaim: no attachment of network ${network} belongs to a pod that is provably gone\n`);
  return failed > 0 ? 1 : 0;
}
