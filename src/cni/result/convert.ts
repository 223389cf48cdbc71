import { parseCIDR } from '../../net/ip.ts';
import {
  type AnyResult,
  type DNS,
  type IPConfig020,
  type Result020,
  type Result040,
  type Result100,
  type Route,
  resultFamily,
} from './types.ts';

// Conversion between result versions with the rules of Go's types/020, 040
// and 100 converters, including what each direction drops.

const copyDns = (d: DNS | undefined): DNS => {
  const out: DNS = {};
  if (d?.nameservers?.length) out.nameservers = [...d.nameservers];
  if (d?.domain) out.domain = d.domain;
  if (d?.search?.length) out.search = [...d.search];
  if (d?.options?.length) out.options = [...d.options];
  return out;
};

const copyRoute = (r: Route): Route => ({ ...r });

const isV4Cidr = (cidr: string): boolean => parseCIDR(cidr)?.ip.family === 4;

function to040From020(r: Result020, version: string): Result040 {
  const out: Result040 = { cniVersion: version, dns: copyDns(r.dns) };
  const ips: Result040['ips'] = [];
  const routes: Route[] = [];
  for (const [fam, v] of [
    [r.ip4, '4'],
    [r.ip6, '6'],
  ] as const) {
    if (!fam) continue;
    const ip: NonNullable<Result040['ips']>[number] = { version: v, address: fam.ip };
    if (fam.gateway) ip.gateway = fam.gateway;
    ips.push(ip);
    for (const rt of fam.routes ?? []) routes.push(copyRoute(rt));
  }
  if (ips.length) out.ips = ips;
  if (routes.length) out.routes = routes;
  return out;
}

function to020From040(r: Result040, version: string): Result020 {
  const out: Result020 = { cniVersion: version, dns: copyDns(r.dns) };
  for (const ip of r.ips ?? []) {
    const cfg: IPConfig020 = { ip: ip.address };
    if (ip.gateway) cfg.gateway = ip.gateway;
    // The 0.x converter decides by the `version` field, not by the address.
    if (ip.version === '4' && !out.ip4) out.ip4 = cfg;
    else if (ip.version === '6' && !out.ip6) out.ip6 = cfg;
    if (out.ip4 && out.ip6) break;
  }
  for (const rt of r.routes ?? []) {
    const target = isV4Cidr(rt.dst) ? out.ip4 : out.ip6;
    if (!target) continue;
    const kept: Route = { dst: rt.dst };
    if (rt.gw) kept.gw = rt.gw;
    (target.routes ??= []).push(kept);
  }
  if (!out.ip4 && !out.ip6) throw new Error('cannot convert: no valid IP addresses');
  return out;
}

function to100From040(r: Result040, version: string): Result100 {
  const out: Result100 = { cniVersion: version };
  const dns = copyDns(r.dns);
  if (Object.keys(dns).length) out.dns = dns;
  if (r.interfaces?.length) out.interfaces = r.interfaces.map((i) => ({ ...i }));
  if (r.ips?.length) {
    out.ips = r.ips.map(({ version: _v, ...rest }) => ({ ...rest }));
  }
  if (r.routes?.length) out.routes = r.routes.map(copyRoute);
  return out;
}

function to040From100(r: Result100, version: string): Result040 {
  const out: Result040 = { cniVersion: version, dns: copyDns(r.dns) };
  if (r.interfaces?.length) {
    out.interfaces = r.interfaces.map((i) => {
      const o: NonNullable<Result040['interfaces']>[number] = { name: i.name };
      if (i.mac) o.mac = i.mac;
      if (i.sandbox) o.sandbox = i.sandbox;
      return o;
    });
  }
  if (r.ips?.length) {
    out.ips = r.ips.map((ip) => {
      const o: NonNullable<Result040['ips']>[number] = { version: isV4Cidr(ip.address) ? '4' : '6', address: ip.address };
      if (ip.interface !== undefined) o.interface = ip.interface;
      if (ip.gateway) o.gateway = ip.gateway;
      return o;
    });
  }
  if (r.routes?.length) out.routes = r.routes.map(copyRoute);
  return out;
}

/**
 * result.GetAsVersion(version). "" means 0.1.0. Throws Go's messages:
 * "no converter for CNI result version X to Y", "cannot convert: no valid IP addresses".
 */
export function convertResult(result: AnyResult, toVersion: string): AnyResult {
  const to = toVersion === '' ? '0.1.0' : toVersion;
  const from = result.cniVersion;
  const fromFamily = resultFamily(from);
  const toFamily = resultFamily(to);
  if (!fromFamily || !toFamily) throw new Error(`no converter for CNI result version ${from} to ${to}`);
  if (from === to) return result;
  switch (`${fromFamily}>${toFamily}`) {
    case '020>020':
      return { ...(result as Result020), cniVersion: to };
    case '020>040':
      return to040From020(result as Result020, to);
    case '020>100':
      return to100From040(to040From020(result as Result020, '0.4.0'), to);
    case '040>040':
      return { ...(structuredClone(result) as Result040), cniVersion: to };
    case '040>020':
      return to020From040(result as Result040, to);
    case '040>100':
      return to100From040(result as Result040, to);
    case '100>100':
      return { ...(structuredClone(result) as Result100), cniVersion: to };
    case '100>040':
      return to040From100(result as Result100, to);
    case '100>020':
      return to020From040(to040From100(result as Result100, '0.4.0'), to);
    default:
      throw new Error(`no converter for CNI result version ${from} to ${to}`);
  }
}

/** The result in the current (1.1.0) shape, for plugins that work on it. */
export const toResult100 = (r: AnyResult): Result100 => convertResult(r, '1.1.0') as Result100;
