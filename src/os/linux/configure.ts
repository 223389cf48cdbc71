import { CniError, ErrorCode } from '../../cni/errors.ts';
import type { Result100, Route } from '../../cni/result/types.ts';
import { goIPConfig } from '../../cni/result/go-format.ts';
import { type CIDR, type IP, formatIP, networkOf, parseCIDR, parseIP } from '../../net/ip.ts';
import type { IpCommand } from './iproute.ts';
import { type PodSysctl, type PodWork, podBatch } from './pod.ts';

// ipam.ConfigureIface: put a result's addresses and routes on one interface
// inside the pod, with its rules: IPs whose `interface` is unset are skipped,
// the others must point at this interface; IPv6 is switched on (and addresses
// kept across link down) before the first IPv6 address; the link goes up;
// routes without a gateway take the first gateway of their family and are
// added in ECMP mode (a second route to the same destination adds a path).

const internal = (msg: string) => new CniError(ErrorCode.Internal, msg);

const SCOPES: Record<number, string> = { 0: 'universe', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

export interface IfacePlan extends PodWork {
  readonly sysctls: PodSysctl[];
  readonly cmds: IpCommand[];
}

function cidrOf(text: string): CIDR {
  const c = parseCIDR(text);
  if (!c) throw internal(`invalid CIDR address: ${text}`);
  return c;
}

/** The pod-side work of ConfigureIface(ifName, result), without running it. */
export function planConfigureIface(ifName: string, result: Result100): IfacePlan {
  const interfaces = result.interfaces ?? [];
  if (interfaces.length === 0) throw internal('no interfaces to configure');
  const sysctls: PodSysctl[] = [];
  const cmds: IpCommand[] = [];
  let v4gw: IP | undefined;
  let v6gw: IP | undefined;
  let ipv6On = false;
  for (const ipc of result.ips ?? []) {
    if (ipc.interface === undefined) continue;
    const idx = ipc.interface;
    if (idx < 0 || idx >= interfaces.length || interfaces[idx]!.name !== ifName) {
      throw internal(`failed to add IP addr ${goIPConfig(ipc)} to ${JSON.stringify(ifName)}: invalid interface index`);
    }
    const addr = cidrOf(ipc.address);
    if (!ipv6On && addr.ip.family === 6) {
      for (const iface of ['lo', ifName]) {
        const key = `net/ipv6/conf/${iface}/disable_ipv6`;
        sysctls.push({
          key,
          value: '0',
          mode: 'if-present',
          onError: (d) => internal(`failed to enable IPv6 for interface ${JSON.stringify(iface)} (${key}): ${d}`),
        });
      }
      sysctls.push({
        key: `net/ipv6/conf/${ifName}/keep_addr_on_down`,
        value: '1',
        mode: 'must',
        onError: (d) => internal(`failed to enable keep_addr_on_down for interface ${JSON.stringify(ifName)}: ${d}`),
      });
      ipv6On = true;
    }
    // Like Go's netlink, an IPv4 address gets its broadcast address.
    const brd = addr.ip.family === 4 && addr.prefix < 31 ? ['brd', '+'] : [];
    cmds.push({
      argv: ['addr', 'add', `${formatIP(addr.ip)}/${addr.prefix}`, ...brd, 'dev', ifName],
      onError: (d) => internal(`failed to add IP addr ${goIPConfig(ipc)} to ${JSON.stringify(ifName)}: ${d}`),
    });
    const gw = ipc.gateway ? parseIP(ipc.gateway) : undefined;
    if (gw?.family === 4) v4gw ??= gw;
    else if (gw?.family === 6) v6gw ??= gw;
  }
  cmds.push({ argv: ['link', 'set', 'dev', ifName, 'up'], onError: (d) => internal(`failed to set ${JSON.stringify(ifName)} UP: ${d}`) });
  for (const r of result.routes ?? []) cmds.push(routeCommand(ifName, r, v4gw, v6gw));
  return { ifName, sysctls, cmds, settle: v6gw !== undefined };
}

function routeCommand(ifName: string, r: Route, v4gw: IP | undefined, v6gw: IP | undefined): IpCommand {
  // A result may keep host bits in a route's dst; the kernel wants the network.
  const dst = networkOf(cidrOf(r.dst));
  const gw = r.gw ? parseIP(r.gw) : dst.ip.family === 4 ? v4gw : v6gw;
  const argv = ['route', 'prepend', `${formatIP(dst.ip)}/${dst.prefix}`];
  if (gw) argv.push('via', formatIP(gw));
  argv.push('dev', ifName);
  if (r.priority) argv.push('metric', String(r.priority));
  if (r.table !== undefined) argv.push('table', String(r.table));
  if (r.scope !== undefined) argv.push('scope', String(r.scope));
  if (r.mtu) argv.push('mtu', String(r.mtu));
  if (r.advmss) argv.push('advmss', String(r.advmss));
  const scope = SCOPES[r.scope ?? 0] ?? String(r.scope);
  const text = `${formatIP(dst.ip)}/${dst.prefix} via ${gw ? formatIP(gw) : '<nil>'} dev ${ifName} metric ${r.priority ?? 0} (Scope: ${scope}, Table: ${r.table ?? 0})`;
  return { argv, onError: (d) => internal(`failed to add route '${text}': ${d}`) };
}

/** ConfigureIface inside the namespace at `netns`; `extraSysctls` run first (the bridge's DAD settings). */
export async function configureIface(netns: string, ifName: string, result: Result100, extraSysctls: readonly PodSysctl[] = []): Promise<void> {
  const plan = planConfigureIface(ifName, result);
  await podBatch(netns, { ...plan, sysctls: [...extraSysctls, ...plan.sysctls] });
}
