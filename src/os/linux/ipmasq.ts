import { CniError, ErrorCode } from '../../cni/errors.ts';
import { type CIDR, formatCIDR, formatIP, networkOf } from '../../net/ip.ts';
import {
  type Family,
  type NetfilterSnapshot,
  type NftRule,
  iptablesRestore,
  netfilterSnapshot,
  nftApply,
  onPath,
} from './netfilter.ts';

// IP masquerade for pod addresses, with the reference plugins' names so that
// operators (and older plugin versions) recognise the rules:
// iptables: chain CNI-<24 hex of SHA-512(network + containerID)> in table nat,
// commented `name: "<net>" id: "<cid>"`, jumped to from POSTROUTING per pod IP;
// nftables: table inet cni_plugins_masquerade, one rule per IP in masq_checks.
// Teardown finds everything by container ID, so it works without the pod's
// addresses (the reference cannot clean up once the pod's netns is gone).

export type MasqBackend = 'iptables' | 'nftables';

// node:crypto is loaded only when a masquerade chain is named: it costs a start 3-6 ms.
const sha512hex = (s: string): string => process.getBuiltinModule('node:crypto').createHash('sha512').update(s).digest('hex');

/** utils.FormatChainName: 28 characters. */
export const masqChainName = (network: string, containerId: string): string =>
  `CNI-${sha512hex(network + containerId).slice(0, 24)}`;

/** utils.FormatComment (Go %q; network names and container IDs never need escapes). */
export const masqComment = (network: string, containerId: string): string =>
  `name: ${JSON.stringify(network)} id: ${JSON.stringify(containerId)}`;

const MULTICAST: Record<Family, string> = { 4: '224.0.0.0/4', 6: 'ff00::/8' };

/** iptables-restore wants the comment as one double-quoted word. */
const restoreQuote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The iptables-restore document that masquerades `addrs` (all of one family). */
export function iptablesMasqRules(family: Family, addrs: readonly CIDR[], network: string, containerId: string): string {
  const chain = masqChainName(network, containerId);
  const c = `-m comment --comment ${restoreQuote(masqComment(network, containerId))}`;
  const nets = [...new Set(addrs.map((a) => formatCIDR(networkOf(a))))];
  const hosts = [...new Set(addrs.map((a) => formatIP(a.ip)))];
  const host = family === 4 ? 32 : 128;
  return natDocument([
    `:${chain} - [0:0]`,
    // Every subnet is exempted before the catch-all, even with several addresses.
    ...nets.map((n) => `-A ${chain} -d ${n} -j ACCEPT ${c}`),
    `-A ${chain} ! -d ${MULTICAST[family]} -j MASQUERADE ${c}`,
    ...hosts.map((h) => `-A POSTROUTING -s ${h}/${host} -j ${chain} ${c}`),
  ]);
}

/** The restore lines removing `chain` and every POSTROUTING jump to it (none if nothing is there). */
export function iptablesMasqTeardown(save: string, chain: string): string[] {
  const jump = new RegExp(`(^| )-j ${chain}( |$)`);
  const lines = save.split('\n');
  const jumps = lines.filter((l) => l.startsWith('-A POSTROUTING ') && jump.test(l)).map((l) => `-D${l.slice(2)}`);
  const exists = lines.some((l) => l.startsWith(`:${chain} `));
  return [...jumps, ...(exists ? [`-F ${chain}`, `-X ${chain}`] : [])];
}

const natDocument = (lines: readonly string[]): string => ['*nat', ...lines, 'COMMIT', ''].join('\n');

// nftables backend (pkg/ip/ipmasq_nftables_linux.go).
const NFT_TABLE = 'cni_plugins_masquerade';
const NFT_CHAIN = 'masq_checks';
const NFT_COMMENT_MAX = 128;

const hash16 = (s: string): string => sha512hex(s).slice(0, 16);
const networkHash = (network: string): string => hash16(network);
const instanceHash = (network: string, ifName: string, containerId: string): string =>
  `${networkHash(network)}-${hash16(`${ifName}:${containerId}`)}`;

export function nftMasqComment(network: string, ifName: string, containerId: string): string {
  const strip = (s: string) => s.replace(/"/g, '');
  const c = `${instanceHash(network, ifName, containerId)}, net: ${strip(network)}, if: ${strip(ifName)}, id: ${strip(containerId)}`;
  return c.slice(0, NFT_COMMENT_MAX);
}

const inRule = (rule: NftRule) => ({ delete: { rule: { family: 'inet', table: NFT_TABLE, chain: NFT_CHAIN, handle: rule.handle } } });

const payload = (family: Family, field: 'saddr' | 'daddr') => ({ payload: { protocol: family === 4 ? 'ip' : 'ip6', field } });

function nftMasqSetup(addrs: readonly CIDR[], network: string, ifName: string, containerId: string, stale: readonly NftRule[]): unknown[] {
  const t = { family: 'inet', table: NFT_TABLE };
  const comment = nftMasqComment(network, ifName, containerId);
  return [
    { add: { table: { family: 'inet', name: NFT_TABLE, comment: 'Masquerading for plugins from github.com/containernetworking/plugins' } } },
    {
      add: {
        chain: { ...t, name: NFT_CHAIN, comment: 'Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet' },
      },
    },
    { add: { chain: { ...t, name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } },
    { flush: { chain: { ...t, name: 'postrouting' } } },
    ...([4, 6] as const).map((f) => ({
      add: {
        rule: {
          ...t,
          chain: 'postrouting',
          expr: [
            { match: { op: '==', left: payload(f, 'daddr'), right: { prefix: { addr: f === 4 ? '224.0.0.0' : 'ff00::', len: f === 4 ? 4 : 8 } } } },
            { return: null },
          ],
        },
      },
    })),
    { add: { rule: { ...t, chain: 'postrouting', expr: [{ goto: { target: NFT_CHAIN } }] } } },
    ...stale.map(inRule),
    ...addrs.map((a) => {
      const f = a.ip.family;
      const net = networkOf(a);
      return {
        add: {
          rule: {
            ...t,
            chain: NFT_CHAIN,
            comment,
            expr: [
              { match: { op: '==', left: payload(f, 'saddr'), right: formatIP(a.ip) } },
              { match: { op: '!=', left: payload(f, 'daddr'), right: { prefix: { addr: formatIP(net.ip), len: net.prefix } } } },
              { masquerade: null },
            ],
          },
        },
      };
    }),
  ];
}

/** The default backend: iptables, unless only nft is installed. */
export const defaultMasqBackend = (): MasqBackend => (!onPath('iptables-restore') && onPath('nft') ? 'nftables' : 'iptables');

/** ip.SetupIPMasqForNetworks. */
export async function setupIPMasq(
  backend: MasqBackend,
  addrs: readonly CIDR[],
  network: string,
  ifName: string,
  containerId: string,
): Promise<void> {
  if (backend === 'nftables') {
    const snap = await netfilterSnapshot(['nftMasq']);
    const prefix = instanceHash(network, ifName, containerId);
    const stale = (snap.nftMasq?.rules ?? []).filter((r) => r.comment?.startsWith(prefix));
    await nftApply(nftMasqSetup(addrs, network, ifName, containerId, stale));
    return;
  }
  for (const family of [4, 6] as const) {
    const mine = addrs.filter((a) => a.ip.family === family);
    if (mine.length > 0) await iptablesRestore(family, iptablesMasqRules(family, mine, network, containerId));
  }
}

async function removeIptablesChains(snap: NetfilterSnapshot, chains: readonly string[]): Promise<string[]> {
  const errors: string[] = [];
  for (const family of [4, 6] as const) {
    const save = family === 4 ? snap.nat4 : snap.nat6;
    if (save === undefined) continue;
    const lines = chains.flatMap((c) => iptablesMasqTeardown(save, c));
    if (lines.length === 0) continue;
    try {
      await iptablesRestore(family, natDocument(lines));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return errors;
}

/**
 * ip.TeardownIPMasqForNetworks, found by container ID: both backends, since
 * the pod may have been set up by another configuration or plugin version.
 */
export async function teardownIPMasq(network: string, ifName: string, containerId: string): Promise<void> {
  const snap = await netfilterSnapshot(['nat4', 'nat6', 'nftMasq']);
  const errors = await removeIptablesChains(snap, [masqChainName(network, containerId)]);
  const prefix = instanceHash(network, ifName, containerId);
  const rules = (snap.nftMasq?.rules ?? []).filter((r) => r.comment?.startsWith(prefix));
  try {
    await nftApply(rules.map(inRule));
  } catch (e) {
    errors.push((e as Error).message);
  }
  if (errors.length > 0) throw new CniError(ErrorCode.Internal, errors.join('\n'));
}

const COMMENT_RE = /--comment "name: \\"([^"\\]*)\\" id: \\"([^"\\]*)\\""/;

/** Chains of `network` in an iptables-save text, with the container ID their comment names. */
export function masqChainsOf(save: string, network: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of save.split('\n')) {
    const m = /^-A (CNI-[0-9a-f]{24}) /.exec(line);
    if (!m) continue;
    const c = COMMENT_RE.exec(line);
    if (!c || c[1] !== network) continue;
    // Only chains whose name is the hash of what their comment says are ours.
    if (masqChainName(network, c[2]!) === m[1]) found.set(m[1]!, c[2]!);
  }
  return found;
}

/**
 * GC: remove masquerading of `network` for containers not in `keep`
 * (container IDs for iptables, which ignores ifname; comments for nftables).
 */
export async function gcIPMasq(network: string, keep: readonly { containerID: string; ifname: string }[]): Promise<void> {
  const snap = await netfilterSnapshot(['nat4', 'nat6', 'nftMasq']);
  const keepIds = new Set(keep.map((a) => a.containerID));
  const stale = new Set<string>();
  for (const save of [snap.nat4, snap.nat6]) {
    if (save === undefined) continue;
    for (const [chain, cid] of masqChainsOf(save, network)) if (!keepIds.has(cid)) stale.add(chain);
  }
  const errors = await removeIptablesChains(snap, [...stale]);
  const keepComments = new Set(keep.map((a) => nftMasqComment(network, a.ifname, a.containerID)));
  const netPrefix = `${networkHash(network)}-`;
  const rules = (snap.nftMasq?.rules ?? []).filter((r) => r.comment?.startsWith(netPrefix) && !keepComments.has(r.comment));
  try {
    await nftApply(rules.map(inRule));
  } catch (e) {
    errors.push((e as Error).message);
  }
  if (errors.length > 0) throw new CniError(ErrorCode.Internal, errors.join('\n'));
}
