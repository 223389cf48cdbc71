import { CniError, ErrorCode } from '../../cni/errors.ts';
import type { Result100 } from '../../cni/result/types.ts';
import { type CIDR, addToIP, cidrContains, formatCIDR, formatIP, networkOf, parseCIDR } from '../../net/ip.ts';

// Gateways (bridge.go calcGateways and ensureAddr): which addresses the bridge
// carries for the pod's subnets, the default routes isDefaultGateway adds, and
// how an address already on the bridge is treated.

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
  /** Addresses to delete first (forceAddress). */
  remove: CIDR[];
  /** The gateway address to add, if it is not there yet. */
  add?: CIDR;
}

/**
 * ensureAddr's decision for one gateway, given the link's current addresses
 * of that family in kernel order: nothing when the exact address is there;
 * otherwise a conflicting address (any IPv4 one; an overlapping IPv6 one) is
 * removed with forceAddress, or is an error without it.
 */
export function planEnsureAddr(link: string, current: readonly CIDR[], want: CIDR, forceAddress: boolean): AddrChange {
  const remove: CIDR[] = [];
  for (const a of current) {
    if (sameCIDR(a, want)) return { remove };
    if (want.ip.family === 4 || overlaps(a, want)) {
      if (!forceAddress) {
        throw new CniError(ErrorCode.Internal, `${JSON.stringify(link)} already has an IP address different from ${formatCIDR(want)}`);
      }
      remove.push(a);
    }
  }
  return { remove, add: want };
}

/** ensureAddr for each gateway in turn, each seeing what the previous ones changed. */
export function planGatewayAddrs(link: string, current: readonly CIDR[], gws: readonly CIDR[], forceAddress: boolean): AddrChange[] {
  let now = [...current];
  return gws.map((gw) => {
    const change = planEnsureAddr(
      link,
      now.filter((a) => a.ip.family === gw.ip.family),
      gw,
      forceAddress,
    );
    now = now.filter((a) => !change.remove.some((r) => sameCIDR(r, a)));
    if (change.add) now.push(change.add);
    return change;
  });
}
