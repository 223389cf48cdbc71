import { parsePrevResult } from '../../cni/conf.ts';
import { delegateCheck } from '../../cni/delegate.ts';
import { CniError, ErrorCode, errorText } from '../../cni/errors.ts';
import { toResult100 } from '../../cni/result/convert.ts';
import type { Interface100, Route } from '../../cni/result/types.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { goRoute } from '../../cni/result/go-format.ts';
import { type CIDR, bitsOf, formatCIDR, formatIP, networkOf, parseCIDR, parseIP } from '../../net/ip.ts';
import { ipJson } from '../../os/linux/iproute.ts';
import { checkNetns } from '../../os/linux/netns.ts';
import { podSnapshot } from '../../os/linux/pod.ts';
import { type BridgeConf, loadBridgeConf } from './conf.ts';

// bridge CHECK (bridge.go cmdCheck): the bridge, the pod's interface and its
// host-side peer, and the prevResult's addresses and routes must all be there.
// Unlike the reference, an L2 bridge (no IPAM) can pass, and a route without a
// gateway (flannel's {"dst": "10.244.0.0/16"}) is matched by destination.

const fail = (msg: string) => new CniError(ErrorCode.Internal, msg);

interface LinkJson {
  ifindex: number;
  ifname: string;
  link_index?: number;
  master?: string;
  address?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string };
}

interface AddrJson {
  ifname?: string;
  addr_info?: { local?: string; prefixlen?: number }[];
}

interface RouteJson {
  dst?: string;
  gateway?: string;
  table?: string | number;
  nexthops?: { gateway?: string }[];
}

const kind = (l: LinkJson) => l.linkinfo?.info_kind;

interface Found {
  name: string;
  ifIndex: number;
  peerIndex: number;
  master?: string;
}

function validateBridge(intf: Interface100, links: LinkJson[], conf: BridgeConf): Found {
  const link = validateInterface(intf, links, false);
  if (kind(link) !== 'bridge') throw fail(`Interface ${intf.name} does not have link type of bridge`);
  if (intf.mac && intf.mac !== link.address) throw fail(`Bridge interface ${intf.name} Mac doesn't match: ${intf.mac}`);
  const promisc = link.flags?.includes('PROMISC') ?? false;
  if (promisc !== conf.promiscMode) {
    throw fail(`Bridge interface ${intf.name} configured Promisc Mode ${conf.promiscMode} doesn't match current state: ${promisc} `);
  }
  return { name: link.ifname, ifIndex: link.ifindex, peerIndex: -1 };
}

function validateInterface(intf: Interface100, links: LinkJson[], inSandbox: boolean): LinkJson {
  if (!intf.name) throw fail('Interface name missing ');
  const link = links.find((l) => l.ifname === intf.name);
  if (!link) throw fail(`Interface name ${intf.name} not found`);
  if (inSandbox && !intf.sandbox) throw fail(`Interface ${intf.name} is expected to be in a sandbox`);
  if (!inSandbox && intf.sandbox) throw fail(`Interface ${intf.name} should not be in sandbox`);
  return link;
}

function peerIndexOf(link: LinkJson): number {
  if (link.link_index === undefined) throw fail(`Unable to obtain veth peer index for veth ${link.ifname}`);
  return link.link_index;
}

function validateContainer(intf: Interface100, links: LinkJson[]): Found {
  const link = validateInterface(intf, links, true);
  if (kind(link) !== 'veth') throw fail(`Error: Container interface ${link.ifname} not of type veth`);
  const peerIndex = peerIndexOf(link);
  if (intf.mac && intf.mac !== link.address) {
    throw fail(`Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.address}`);
  }
  return { name: link.ifname, ifIndex: link.ifindex, peerIndex };
}

/** The host veth among the other interfaces: a veth whose peer is the pod's and whose master is the bridge. */
function findHostVeth(others: Interface100[], links: LinkJson[], br: Found, cont: Found): Found | undefined {
  for (const intf of others) {
    const link = validateInterface(intf, links, false);
    if (kind(link) !== 'veth') continue;
    const peerIndex = peerIndexOf(link);
    if (link.ifindex !== cont.peerIndex || peerIndex !== cont.ifIndex || link.master !== br.name) continue;
    if (intf.mac && intf.mac !== link.address) throw fail(`Interface ${intf.name} Mac doesn't match: ${intf.mac} not found`);
    return { name: link.ifname, ifIndex: link.ifindex, peerIndex, master: link.master };
  }
  return undefined;
}

const TABLES: Record<string, number> = { main: 254, local: 255, default: 253 };
const MAIN = 254;

function tableOf(r: RouteJson): number {
  if (r.table === undefined) return MAIN;
  return typeof r.table === 'number' ? r.table : (TABLES[r.table] ?? Number(r.table));
}

/** A route's destination as a CIDR ("default" and host routes without a prefix included). */
function dstOf(r: RouteJson, family: 4 | 6): CIDR | undefined {
  if (r.dst === undefined) return undefined;
  if (r.dst === 'default') return { ip: { family, value: 0n }, prefix: 0 };
  return parseCIDR(r.dst.includes('/') ? r.dst : `${r.dst}/${bitsOf(family)}`);
}

const sameNet = (a: CIDR | undefined, b: CIDR) => a !== undefined && formatCIDR(networkOf(a)) === formatCIDR(networkOf(b)) && a.prefix === b.prefix;

function gatewaysOf(r: RouteJson): string[] {
  const gws = [r.gateway, ...(r.nexthops ?? []).map((n) => n.gateway)];
  return gws.filter((g): g is string => g !== undefined).map((g) => formatIP(parseIP(g) ?? { family: 4, value: 0n }));
}

function validateAddrsAndRoutes(ifName: string, ips: { address: string; gateway?: string }[], routes: Route[], addrs: AddrJson[], r4: RouteJson[], r6: RouteJson[]) {
  const link = addrs.find((a) => a.ifname === ifName);
  if (!link) throw fail(`Cannot find container link ${ifName}`);
  const have = (link.addr_info ?? []).flatMap((a) => (a.local && a.prefixlen !== undefined ? [parseCIDR(`${a.local}/${a.prefixlen}`)] : []));
  for (const ip of ips) {
    const want = parseCIDR(ip.address);
    if (!want) throw fail(`Failed to match addr ${ip.address} on interface ${ifName}`);
    const text = formatCIDR(want);
    if (!have.some((h) => h && formatCIDR(h) === text)) throw fail(`Failed to match addr ${text} on interface ${ifName}`);
    const family = want.ip.family;
    const net = networkOf(want);
    const table = family === 4 ? r4 : r6;
    if (!table.some((r) => tableOf(r) === MAIN && sameNet(dstOf(r, family), net))) {
      throw fail(`Failed to find Gateway ${ip.gateway ?? '<nil>'} for interface ${ifName}`);
    }
  }
  for (const route of routes) {
    const dst = parseCIDR(route.dst);
    if (!dst) throw fail(`Invalid static route found ${goRoute(route)}`);
    const family = dst.ip.family;
    const wantTable = route.table ?? MAIN;
    const gw = route.gw ? formatIP(parseIP(route.gw)!) : undefined;
    const found = (family === 4 ? r4 : r6).some(
      (r) => tableOf(r) === wantTable && sameNet(dstOf(r, family), dst) && (gw === undefined || gatewaysOf(r).includes(gw)),
    );
    if (!found) throw fail(`Expected Route ${goRoute(route)} not found in routing table`);
  }
}

export async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadBridgeConf(args.stdinData, args.args);
  try {
    checkNetns(args.netns);
  } catch (e) {
    throw fail(`failed to open netns ${JSON.stringify(args.netns)}: ${errorText(e)}`);
  }
  // An L2 bridge has no IPAM to ask (the reference fails here: "no plugin name provided").
  if (conf.ipamType !== '') await delegateCheck(conf.ipamType, args.stdinData, { env: args.env });
  const prev = parsePrevResult(conf);
  if (!prev) throw fail('Required prevResult missing');
  const result = toResult100(prev);

  let brMap: Interface100 = { name: '' };
  let contMap: Interface100 = { name: '' };
  for (const intf of result.interfaces ?? []) {
    if (intf.name === conf.brName) brMap = intf;
    else if (intf.name === args.ifName && intf.sandbox === args.netns) contMap = intf;
  }
  const hostLinks = await ipJson<LinkJson>(['-d', 'link', 'show']);
  const br = validateBridge(brMap, hostLinks, conf);
  if (args.netns !== (contMap.sandbox ?? '')) {
    throw fail(`Sandbox in prevResult ${contMap.sandbox ?? ''} doesn't match configured netns: ${args.netns}`);
  }
  const pod = await podSnapshot(args.netns);
  const cont = validateContainer(contMap, pod.links as LinkJson[]);
  const others = (result.interfaces ?? []).filter((i) => i.name !== brMap.name && i.name !== contMap.name);
  const veth = findHostVeth(others, hostLinks, br, cont);
  if (!veth) throw fail(`CNI veth created for bridge ${conf.brName} was not found`);
  validateAddrsAndRoutes(args.ifName, result.ips ?? [], result.routes ?? [], pod.addrs as AddrJson[], pod.routes4 as RouteJson[], pod.routes6 as RouteJson[]);
}
