import { CniError, ErrorCode } from '../../cni/errors.ts';
import type { Result100 } from '../../cni/result/types.ts';
import { type CIDR, addToIP, cidrContains, formatIP, networkOf, parseCIDR } from '../../net/ip.ts';

// Gateways (bridge.go calcGateways and ensureAddr): which addresses the bridge
// carries for the pod's subnets, the default routes isDefaultGateway adds, and
// how an address already on the bridge is treated (where weft parts from the
// reference so that cni0 follows a changed subnet).

/** The container interface's index in the bridge's result. */
export const CONTAINER_IFACE = 2;

export interface Gateways {
  4: CIDR[];
  6: CIDR[];
}

const DEFAULT_DST = { 4: '0.0.0.0/0', 6: '::/0' } as const;

/**
 * Point every IP at the container interface, fill in missing gateways
 * (network + 1) when the bridge is a gateway, add one default route per family
 * for isDefaultGateway unless IPAM gave one with a gateway, and return the
 * gateway addresses (with the pod's prefix) the bridge must carry.
 */
export function calcGateways(result: Result100, opts: { isGW: boolean; isDefaultGW: boolean }): Gateways {
  const gws: Gateways = { 4: [], 6: [] };
  const defaultRouteFound = { 4: false, 6: false };
  for (const ipc of result.ips ?? []) {
    const addr = parseCIDR(ipc.address);
    if (!addr) throw new CniError(ErrorCode.Internal, `Unknown IP object: ${ipc.address}`);
    const family = addr.ip.family;
    ipc.interface = CONTAINER_IFACE;
    if (!ipc.gateway && opts.isGW) {
      const gw = addToIP(networkOf(addr).ip, 1n);
      if (gw) ipc.gateway = formatIP(gw);
    }
    if (opts.isDefaultGW && !defaultRouteFound[family]) {
      const routes = (result.routes ??= []);
      // Like the reference, an IPAM default route without a gateway does not count.
      if (!routes.some((r) => r.gw && r.dst === DEFAULT_DST[family])) {
        routes.push(ipc.gateway ? { dst: DEFAULT_DST[family], gw: ipc.gateway } : { dst: DEFAULT_DST[family] });
      }
      defaultRouteFound[family] = true;
    }
    if (opts.isGW && ipc.gateway) {
      const gw = parseCIDR(`${ipc.gateway}/${addr.prefix}`);
      if (gw) gws[family].push(gw);
    }
  }
  return gws;
}

const sameCIDR = (a: CIDR, b: CIDR) => a.ip.family === b.ip.family && a.ip.value === b.ip.value && a.prefix === b.prefix;

const overlaps = (a: CIDR, b: CIDR) => cidrContains(a, b.ip) || cidrContains(b, a.ip);

export interface AddrChange {
  /** Addresses to delete first. */
  remove: CIDR[];
  /** The gateway address to add, if it is not there yet. */
  add?: CIDR;
}

export interface EnsureAddrOptions {
  forceAddress: boolean;
  /** Does some pod's lease lie in this address's subnet? */
  inUse: (addr: CIDR) => boolean;
}

const LINK_LOCAL_V6 = parseCIDR('fe80::/10')!;

/**
 * ensureAddr's decision for one gateway, given the link's current addresses
 * of that family in kernel order. With forceAddress, as in the reference,
 * any other IPv4 address and any overlapping IPv6 one is replaced. Without
 * it the reference fails on those; weft follows a changed subnet instead: an
 * address whose subnet no lease lies in any more (an old gateway) is removed,
 * one that pods still use stays, and the gateway is added beside it.
 * IPv6 link-local addresses are never touched.
 */
export function planEnsureAddr(current: readonly CIDR[], want: CIDR, opts: EnsureAddrOptions): AddrChange {
  const remove: CIDR[] = [];
  let present = false;
  for (const a of current) {
    if (sameCIDR(a, want)) present = true;
    else if (opts.forceAddress) {
      if (want.ip.family === 4 || overlaps(a, want)) remove.push(a);
    } else if (!cidrContains(LINK_LOCAL_V6, a.ip) && !opts.inUse(a)) remove.push(a);
  }
  return present ? { remove } : { remove, add: want };
}

/** ensureAddr for each gateway in turn, each seeing what the previous ones changed. */
export function planGatewayAddrs(current: readonly CIDR[], gws: readonly CIDR[], opts: EnsureAddrOptions): AddrChange[] {
  let now = [...current];
  return gws.map((gw) => {
    const change = planEnsureAddr(
      now.filter((a) => a.ip.family === gw.ip.family),
      gw,
      opts,
    );
    now = now.filter((a) => !change.remove.some((r) => sameCIDR(r, a)));
    if (change.add) now.push(change.add);
    return change;
  });
}
