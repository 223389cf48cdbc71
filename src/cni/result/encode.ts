import { marshalIndent, sortKeys } from '../json.ts';
import { convertResult } from './convert.ts';
import {
  type AnyResult,
  type DNS,
  type IPConfig020,
  type Result020,
  type Result040,
  type Result100,
  type Route,
  isDnsEmpty,
  resultFamily,
} from './types.ts';

// The bytes Go's result types print: 1.x goes through a map (keys sorted,
// empty dns dropped); 0.x keeps struct field order and always has "dns".

function orderedRoute(r: Route): Record<string, unknown> {
  const o: Record<string, unknown> = { dst: r.dst };
  if (r.gw) o.gw = r.gw;
  if (r.mtu) o.mtu = r.mtu;
  if (r.advmss) o.advmss = r.advmss;
  if (r.priority) o.priority = r.priority;
  if (r.table !== undefined) o.table = r.table;
  if (r.scope !== undefined) o.scope = r.scope;
  return o;
}

function orderedDns(d: DNS | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (d?.nameservers?.length) o.nameservers = d.nameservers;
  if (d?.domain) o.domain = d.domain;
  if (d?.search?.length) o.search = d.search;
  if (d?.options?.length) o.options = d.options;
  return o;
}

function shape100(r: Result100): unknown {
  const o: Record<string, unknown> = { cniVersion: r.cniVersion };
  if (r.interfaces?.length) o.interfaces = r.interfaces;
  if (r.ips?.length) o.ips = r.ips;
  if (r.routes?.length) o.routes = r.routes.map(orderedRoute);
  if (!isDnsEmpty(r.dns)) o.dns = orderedDns(r.dns);
  return sortKeys(o);
}

function shape040(r: Result040): unknown {
  const o: Record<string, unknown> = { cniVersion: r.cniVersion };
  if (r.interfaces?.length) {
    o.interfaces = r.interfaces.map((i) => {
      const x: Record<string, unknown> = { name: i.name };
      if (i.mac) x.mac = i.mac;
      if (i.sandbox) x.sandbox = i.sandbox;
      return x;
    });
  }
  if (r.ips?.length) {
    o.ips = r.ips.map((ip) => {
      const x: Record<string, unknown> = { version: ip.version };
      if (ip.interface !== undefined) x.interface = ip.interface;
      x.address = ip.address;
      if (ip.gateway) x.gateway = ip.gateway;
      return x;
    });
  }
  if (r.routes?.length) o.routes = r.routes.map(orderedRoute);
  o.dns = orderedDns(r.dns);
  return o;
}

function shape020(r: Result020): unknown {
  const ipc = (c: IPConfig020) => {
    const x: Record<string, unknown> = { ip: c.ip };
    if (c.gateway) x.gateway = c.gateway;
    if (c.routes?.length) x.routes = c.routes.map((rt) => (rt.gw ? { dst: rt.dst, gw: rt.gw } : { dst: rt.dst }));
    return x;
  };
  const o: Record<string, unknown> = { cniVersion: r.cniVersion };
  if (r.ip4) o.ip4 = ipc(r.ip4);
  if (r.ip6) o.ip6 = ipc(r.ip6);
  o.dns = orderedDns(r.dns);
  return o;
}

/** The JSON object Go would emit for this result, in its own version. */
export function resultJsonShape(r: AnyResult): unknown {
  switch (resultFamily(r.cniVersion)) {
    case '100':
      return shape100(r as Result100);
    case '040':
      return shape040(r as Result040);
    default:
      return shape020(r as Result020);
  }
}

/** Result.PrintTo: indented JSON, no trailing newline. */
export const encodeResult = (r: AnyResult): string => marshalIndent(resultJsonShape(r));

/** types.PrintResult(result, version): convert, then print. */
export const printResult = (r: AnyResult, version: string): string => encodeResult(convertResult(r, version));
