import type { IPConfig100, Route } from './types.ts';
import { type CIDR, bitsOf, formatIP, maskOf, parseCIDR } from '../../net/ip.ts';

// How Go's fmt prints the CNI types the reference plugins put into error
// messages, so weft's messages read the same.

/** %+v of a net.IPNet value: {IP:10.1.2.3 Mask:ffffff00}. */
export function goIPNet(c: CIDR): string {
  const mask = maskOf(c.ip.family, c.prefix).toString(16).padStart(bitsOf(c.ip.family) / 4, '0');
  return `{IP:${formatIP(c.ip)} Mask:${mask}}`;
}

const ipNetText = (cidr: string): string => {
  const c = parseCIDR(cidr);
  return c ? goIPNet(c) : cidr;
};

/** %+v of an IPConfig (Go shows the interface pointer's address; weft its value). */
export function goIPConfig(ipc: IPConfig100): string {
  const idx = ipc.interface === undefined ? '<nil>' : String(ipc.interface);
  return `{Interface:${idx} Address:${ipNetText(ipc.address)} Gateway:${ipc.gateway ?? '<nil>'}}`;
}

/** types.Route.String(). */
export function goRoute(r: Route): string {
  const t = r.table === undefined ? '<nil>' : String(r.table);
  const s = r.scope === undefined ? '<nil>' : String(r.scope);
  return `{Dst:${ipNetText(r.dst)} GW:${r.gw ?? '<nil>'} MTU:${r.mtu ?? 0} AdvMSS:${r.advmss ?? 0} Priority:${r.priority ?? 0} Table:${t} Scope:${s}}`;
}
