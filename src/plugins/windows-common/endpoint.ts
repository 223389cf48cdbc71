import { CniError, ErrorCode } from '../../cni/errors.ts';
import { isPlainObject } from '../../cni/json.ts';
import { fieldCI } from '../../cni/keys.ts';
import type { DNS, IPConfig100, Interface100, Result100 } from '../../cni/result/types.ts';
import { type CIDR, formatIP, parseCIDR, parseIP } from '../../net/ip.ts';
import type { PathElem } from '../../os/windows/plan-language.ts';
import type { ApiVersion } from './conf.ts';

// The endpoint weft asks HNS for, and the CNI result read back from what HNS
// made of it (ConstructHnsResult / ConstructHcnResult).

export interface EndpointSpec {
  name: string;
  /** The network's ID: a plan reference (fromOutput). */
  networkId: unknown;
  ip?: string | undefined;
  /** A literal address or a plan reference. */
  gateway?: unknown;
  mac?: string | undefined;
  dns: DNS;
  /** Policy values in the API's form; may hold onlyIf elements. */
  policies: unknown[];
}

/** hcsshim.HNSEndpoint as JSON (empty fields left out, like Go's omitempty). */
function v1Body(e: EndpointSpec): Record<string, unknown> {
  const body: Record<string, unknown> = { Name: e.name, VirtualNetwork: e.networkId };
  if (e.policies.length) body.Policies = e.policies;
  if (e.mac) body.MacAddress = e.mac;
  if (e.ip) body.IPAddress = e.ip;
  if (e.dns.search?.length) body.DNSSuffix = e.dns.search.join(',');
  if (e.dns.nameservers?.length) body.DNSServerList = e.dns.nameservers.join(',');
  if (e.gateway) body.GatewayAddress = e.gateway;
  return body;
}

/** hcn.HostComputeEndpoint at schema 2.0. */
function v2Body(e: EndpointSpec): Record<string, unknown> {
  const dns: Record<string, unknown> = {};
  if (e.dns.domain) dns.Domain = e.dns.domain;
  if (e.dns.search?.length) dns.Search = e.dns.search;
  if (e.dns.nameservers?.length) dns.ServerList = e.dns.nameservers;
  if (e.dns.options?.length) dns.Options = e.dns.options;
  const body: Record<string, unknown> = { SchemaVersion: { Major: 2, Minor: 0 }, Name: e.name, HostComputeNetwork: e.networkId };
  if (e.policies.length) body.Policies = e.policies;
  if (e.ip) body.IpConfigurations = [{ IpAddress: e.ip }];
  body.Dns = dns;
  if (e.gateway) {
    // The default route's family follows the gateway; a run-time gateway is the overlay's IPv4 one.
    const v6 = typeof e.gateway === 'string' && parseIP(e.gateway)?.family === 6;
    body.Routes = [{ NextHop: e.gateway, DestinationPrefix: v6 ? '::/0' : '0.0.0.0/0' }];
  }
  if (e.mac) body.MacAddress = e.mac;
  return body;
}

export const endpointBody = (e: EndpointSpec, api: ApiVersion): Record<string, unknown> =>
  api === 2 ? v2Body(e) : v1Body(e);

/** A value inside HNS output, keys matched ignoring case (as the plan's refs do). */
export function pick(value: unknown, ...path: PathElem[]): unknown {
  let cur = value;
  for (const p of path) {
    if (typeof p === 'number') cur = Array.isArray(cur) ? cur[p] : undefined;
    else cur = isPlainObject(cur) ? fieldCI(cur, p) : undefined;
    if (cur === undefined || cur === null) return undefined;
  }
  return cur;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && s !== '') : []);
/** v1 keeps lists as comma-joined strings; "" is no entry (the reference made it [""]). */
const splitList = (v: unknown): string[] => str(v).split(',').filter((s) => s !== '');

/** What a CNI result needs from an endpoint, in either dialect. */
export function endpointFacts(endpoint: unknown, api: ApiVersion): { name: string; mac: string; ip: string; gateway: string; dns: DNS } {
  if (api === 1) {
    return {
      name: str(pick(endpoint, 'Name')),
      mac: str(pick(endpoint, 'MacAddress')),
      ip: str(pick(endpoint, 'IPAddress')),
      gateway: str(pick(endpoint, 'GatewayAddress')),
      dns: { nameservers: splitList(pick(endpoint, 'DNSServerList')), search: splitList(pick(endpoint, 'DNSSuffix')) },
    };
  }
  return {
    name: str(pick(endpoint, 'Name')),
    mac: str(pick(endpoint, 'MacAddress')),
    ip: str(pick(endpoint, 'IpConfigurations', 0, 'IpAddress')),
    gateway: str(pick(endpoint, 'Routes', 0, 'NextHop')),
    dns: {
      nameservers: strings(pick(endpoint, 'Dns', 'ServerList')),
      domain: str(pick(endpoint, 'Dns', 'Domain')),
      search: strings(pick(endpoint, 'Dns', 'Search')),
      options: strings(pick(endpoint, 'Dns', 'Options')),
    },
  };
}

function cleanDns(d: DNS): DNS {
  const out: DNS = {};
  if (d.nameservers?.length) out.nameservers = d.nameservers;
  if (d.domain) out.domain = d.domain;
  if (d.search?.length) out.search = d.search;
  if (d.options?.length) out.options = d.options;
  return out;
}

/**
 * The ADD result: one interface (the endpoint), one address with the mask of
 * the network's first subnet (the lease's when HNS reports no subnet), the
 * endpoint's gateway and DNS. No routes, as in the reference.
 */
export function addResult(endpoint: unknown, networkPrefix: unknown, lease: CIDR | undefined, api: ApiVersion): Result100 {
  const facts = endpointFacts(endpoint, api);
  const ip = parseIP(facts.ip);
  if (!ip) {
    throw new CniError(ErrorCode.Internal, `HNS endpoint ${facts.name} has no usable IP address (got ${JSON.stringify(facts.ip)})`);
  }
  const subnet = parseCIDR(str(networkPrefix));
  const prefix = subnet?.ip.family === ip.family ? subnet.prefix : lease?.prefix;
  if (prefix === undefined) {
    throw new CniError(ErrorCode.Internal, `cannot tell the prefix length of ${formatIP(ip)}: the HNS network reports no subnet`);
  }
  const iface: Interface100 = { name: facts.name };
  if (facts.mac) iface.mac = facts.mac;
  const ipConfig: IPConfig100 = { address: `${formatIP(ip)}/${prefix}` };
  const gateway = parseIP(facts.gateway);
  if (gateway) ipConfig.gateway = formatIP(gateway);
  return { cniVersion: '1.1.0', interfaces: [iface], ips: [ipConfig], dns: cleanDns(facts.dns) };
}
