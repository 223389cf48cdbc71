import { CniError, ErrorCode } from '../../cni/errors.ts';
import { cloneJson, goJsonTypeName, isPlainObject, marshal, sortKeys } from '../../cni/json.ts';
import { intRefusal, numberRefusalMessage } from '../../cni/json-numbers.ts';
import { canonicalKeys, keyCI } from '../../cni/keys.ts';
import { type CIDR, addToIP, formatCIDR, formatIP, lastAddressOf, networkOf, parseCIDR, parseIP } from '../../net/ip.ts';
import { type FlannelConf, type JsonObject, checkDelegateDict } from './conf.ts';
import type { FlannelOS } from './platform.ts';
import type { SubnetEnv } from './subnet-env.ts';

// The delegate's network config: a pure function of flannel's config, the
// node's subnet.env and the OS flavour, field for field what the reference
// builds, so that saved configs are interchangeable with it.

const invalid = (msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, msg);

/** A route as Go's types.Route marshals it: struct field order, zero values left out. */
type GoRoute = { dst: string; gw?: string; mtu?: number; advmss?: number; priority?: number; table?: number; scope?: number };

const ROUTE_FIELDS = ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'] as const;

/**
 * An int of a route in flannel's ipam map. The reference reads the map as
 * interface{} (float64) and re-encodes it for []types.Route, so the number
 * is checked as Go writes that float64 (1.0 is 1, 1e20 is out of range).
 */
function routeInt(o: JsonObject, k: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw new Error(`json: cannot unmarshal ${goJsonTypeName(v)} into Go struct field route.${k} of type int`);
  const why = intRefusal(String(v), v);
  if (why) throw new Error(numberRefusalMessage(String(v), `Go struct field route.${k}`, 'int', why));
  return v;
}

function parseRoute(v: unknown, idx: number): GoRoute {
  // The reference turns a route without dst into "<nil>", which the delegate
  // then rejects; saying so here names the route.
  if (!isPlainObject(v)) {
    if (v === null) throw new Error(`route ${idx} has no "dst"`);
    throw new Error(`json: cannot unmarshal ${goJsonTypeName(v)} into Go value of type types.Route`);
  }
  const o = canonicalKeys(v, ROUTE_FIELDS);
  if (o.dst === undefined) throw new Error(`route ${idx} has no "dst"`);
  if (typeof o.dst !== 'string') throw new Error(`json: cannot unmarshal ${goJsonTypeName(o.dst)} into Go value of type string`);
  const dst = parseCIDR(o.dst);
  if (!dst) throw new Error(`invalid CIDR address: ${o.dst}`);
  const r: GoRoute = { dst: formatCIDR(dst) };
  if (o.gw !== undefined && o.gw !== '') {
    if (typeof o.gw !== 'string') throw new Error(`json: cannot unmarshal ${goJsonTypeName(o.gw)} into Go struct field route.gw of type string`);
    const gw = parseIP(o.gw);
    if (!gw) throw new Error(`invalid IP address: ${o.gw}`);
    r.gw = formatIP(gw);
  }
  for (const k of ['mtu', 'advmss', 'priority'] as const) {
    const n = routeInt(o, k);
    if (n) r[k] = n;
  }
  for (const k of ['table', 'scope'] as const) {
    const n = routeInt(o, k);
    if (n !== undefined) r[k] = n;
  }
  return r;
}

/** getIPAMRoutes: the user's `ipam.routes`, read as []types.Route. */
function confRoutes(ipam: JsonObject): GoRoute[] {
  if (!Object.hasOwn(ipam, 'routes') || ipam.routes === null) return [];
  try {
    if (!Array.isArray(ipam.routes)) {
      throw new Error(`json: cannot unmarshal ${goJsonTypeName(ipam.routes)} into Go value of type []types.Route`);
    }
    return ipam.routes.map(parseRoute);
  } catch (e) {
    throw invalid(`failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: ${(e as Error).message}`);
  }
}

/** getDelegateIPAM (Linux): the user's ipam, its ranges and routes filled from subnet.env. */
function linuxIpam(conf: FlannelConf, env: SubnetEnv): JsonObject {
  const ipam: JsonObject = cloneJson(conf.ipam ?? {});
  if (!Object.hasOwn(ipam, 'type')) ipam.type = 'host-local';
  // host-local would turn `subnet` into an extra range set in front of
  // flannel's: a second address, or an "overlaps" failure. Refuse it.
  const subnetKey = keyCI(ipam, 'subnet');
  if (ipam.type === 'host-local' && subnetKey !== undefined) {
    throw invalid(
      `failed to assemble Delegate IPAM: 'ipam' dictionary must not have '${subnetKey}' field, flannel sets host-local's ranges from ${env.file}`,
    );
  }
  const ranges: { subnet: string }[][] = [];
  if (env.subnet) ranges.push([{ subnet: formatCIDR(env.subnet) }]);
  if (env.ipv6Subnet) ranges.push([{ subnet: formatCIDR(env.ipv6Subnet) }]);
  ipam.ranges = ranges;
  ipam.routes = [
    ...confRoutes(ipam),
    ...env.networks.map((n) => ({ dst: formatCIDR(n) })),
    ...env.ipv6Networks.map((n) => ({ dst: formatCIDR(n) })),
  ];
  return ipam;
}

function buildLinux(conf: FlannelConf, env: SubnetEnv, d: JsonObject): JsonObject {
  if (!Object.hasOwn(d, 'type')) d.type = 'bridge';
  // flanneld masquerades itself when started with --ip-masq; then the bridge must not.
  if (!Object.hasOwn(d, 'ipMasq')) d.ipMasq = !env.ipMasq;
  if (!Object.hasOwn(d, 'mtu')) d.mtu = env.mtu;
  if (d.type === 'bridge' && !Object.hasOwn(d, 'isGateway')) d.isGateway = true;
  if (conf.cniVersion !== '') d.cniVersion = conf.cniVersion;
  d.ipam = linuxIpam(conf, env);
  return d;
}

/** The first two addresses of an l2bridge subnet are the gateway (.1) and the HNS host endpoint cbr0_ep (.2). */
const L2BRIDGE_HOST_ENDPOINT_OFFSET = 2n;

/** host-local's ipam for Windows: the node subnet; on l2bridge, leases start after cbr0_ep. */
function windowsIpam(type: unknown, subnet: CIDR, file: string): JsonObject {
  const ipam: JsonObject = { type: 'host-local', subnet: formatCIDR(subnet) };
  if (type !== 'win-bridge') return ipam;
  const net = networkOf(subnet);
  const gateway = addToIP(net.ip, L2BRIDGE_HOST_ENDPOINT_OFFSET)!;
  const rangeStart = addToIP(net.ip, L2BRIDGE_HOST_ENDPOINT_OFFSET + 1n)!;
  const lastUsable = lastAddressOf(net).value - 1n;
  if (rangeStart.value > lastUsable) {
    throw invalid(`FLANNEL_SUBNET ${formatCIDR(subnet)} in ${file} is too small for win-bridge: .1 and .2 (cbr0_ep) leave no address for pods`);
  }
  // .2 is the gateway pods really use on l2bridge; naming it keeps host-local
  // from ever handing it out and the result truthful.
  ipam.gateway = formatIP(gateway);
  ipam.rangeStart = formatIP(rangeStart);
  return ipam;
}

function buildWindows(conf: FlannelConf, env: SubnetEnv, d: JsonObject): JsonObject {
  if (!Object.hasOwn(d, 'type')) d.type = 'win-bridge';
  const network = env.networks[0];
  const subnet = env.subnet;
  if (!network || network.ip.family !== 4 || !subnet || subnet.ip.family !== 4) {
    throw invalid(
      `flannel on Windows needs an IPv4 FLANNEL_NETWORK and FLANNEL_SUBNET in ${env.file}; IPv6-only networks are not supported by the Windows delegates`,
    );
  }
  // On Windows the delegate, not flanneld, sets up masquerading: not inverted.
  d.ipMasq = env.ipMasq;
  d.ipMasqNetwork = formatCIDR(network);
  d.cniVersion = conf.cniVersion !== '' ? conf.cniVersion : '0.2.0';
  d.ipam = windowsIpam(d.type, subnet, env.file);
  return d;
}

/** The delegate config for (conf, subnet.env, OS). Never mutates `conf`. */
export function buildDelegate(conf: FlannelConf, env: SubnetEnv, os: FlannelOS): JsonObject {
  checkDelegateDict(conf.delegate);
  const d: JsonObject = cloneJson(conf.delegate ?? {});
  if (conf.runtimeConfig !== undefined) d.runtimeConfig = cloneJson(conf.runtimeConfig);
  d.name = conf.name;
  return os === 'windows' ? buildWindows(conf, env, d) : buildLinux(conf, env, d);
}

/** types.Route's field order first; anything else (only in a foreign IPAM's routes) after, sorted. */
function goRouteOrder(r: unknown): unknown {
  if (!isPlainObject(r)) return r;
  const out: JsonObject = {};
  for (const k of ROUTE_FIELDS) if (r[k] !== undefined) out[k] = r[k];
  for (const k of Object.keys(r)) if (!Object.hasOwn(out, k)) out[k] = r[k];
  return out;
}

/**
 * The bytes Go's json.Marshal gives for the delegate map: keys sorted at every
 * map level, except the routes, which are types.Route structs.
 */
export function encodeDelegate(delegate: JsonObject): Buffer {
  const sorted = sortKeys(delegate) as JsonObject;
  const ipam = sorted.ipam;
  if (isPlainObject(ipam) && Array.isArray(ipam.routes)) ipam.routes = ipam.routes.map(goRouteOrder);
  return Buffer.from(marshal(sorted));
}

/** A range for configs that only release leases: host-local needs one, DEL and GC ignore it. */
const PLACEHOLDER_RANGE = '192.0.2.0/24';

/**
 * A config that reaches only the IPAM plugin the delegate would use (as if it
 * were the delegate). DEL and GC use it when subnet.env is not there, so a
 * pod's lease still goes.
 */
export function ipamOnlyConf(conf: FlannelConf, os: FlannelOS): JsonObject {
  const ipam: JsonObject = os === 'linux' && conf.ipam ? cloneJson(conf.ipam) : {};
  if (!Object.hasOwn(ipam, 'type')) ipam.type = 'host-local';
  if (typeof ipam.type !== 'string' || ipam.type === '') throw invalid("'ipam' dictionary must have a (string) 'type' field");
  if (ipam.type === 'host-local') {
    for (const k of Object.keys(ipam)) if (['subnet', 'routes'].includes(k.toLowerCase())) delete ipam[k];
    ipam.ranges = [[{ subnet: PLACEHOLDER_RANGE }]];
  }
  const out: JsonObject = { name: conf.name, type: ipam.type, ipam };
  if (conf.cniVersion !== '') out.cniVersion = conf.cniVersion;
  else if (os === 'windows') out.cniVersion = '0.2.0';
  return out;
}
