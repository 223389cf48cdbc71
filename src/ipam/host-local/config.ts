import * as z from 'zod/mini';
import { loadArgs } from '../../cni/args.ts';
import { NetConfSchema, RangeSchema, RouteSchema, parseConfDocument } from '../../cni/conf.ts';
import { canonicalize, numberIssue } from '../../cni/decode.ts';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { goJsonTypeName } from '../../cni/json.ts';
import { numberRefusalMessage } from '../../cni/json-numbers.ts';
import type { Route } from '../../cni/result/types.ts';
import { versionAtLeast } from '../../cni/version.ts';
import { type CIDR, type IP, formatCIDR, formatIP, parseCIDR, parseIP } from '../../net/ip.ts';
import { type RangeConfig, type RangeSet, canonicalizeRangeSet, rangeSetsOverlap } from './range.ts';

// host-local's configuration (reference-plugins.md §2.1-2.4): the network
// config on stdin plus CNI_ARGS, decoded with the reference's defaults,
// validation order and messages. JSON shape problems are decoding failures
// (code 6); values that decode but make no sense are invalid config (code 7).

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

// A route without dst is host-local's own error (below), not a decoding failure.
const RouteConfigSchema = z.extend(RouteSchema, { dst: z.optional(z.string()) });

export const HostLocalIpamSchema = z.looseObject({
  type: z.optional(z.string()),
  // The legacy single range, used only when `subnet` is set.
  subnet: z.optional(z.string()),
  rangeStart: z.optional(z.string()),
  rangeEnd: z.optional(z.string()),
  gateway: z.optional(z.string()),
  routes: z.optional(z.array(RouteConfigSchema)),
  dataDir: z.optional(z.string()),
  resolvConf: z.optional(z.string()),
  ranges: z.optional(z.array(z.array(RangeSchema))),
});

export const HostLocalNetConfSchema = z.extend(NetConfSchema, {
  ipam: z.optional(HostLocalIpamSchema),
  args: z.optional(z.looseObject({ cni: z.optional(z.looseObject({ ips: z.optional(z.array(z.string())) })) })),
});

export type HostLocalNetConf = z.infer<typeof HostLocalNetConfSchema>;

export interface IpamConfig {
  /** The network name: the store's folder. */
  name: string;
  cniVersion: string;
  dataDir: string;
  resolvConf?: string;
  routes: Route[];
  /** Runtime ipRanges, then the legacy range, then `ranges`; the index is the range ID. */
  rangeSets: RangeSet[];
  /** CNI_ARGS IP, then args.cni.ips, then runtimeConfig.ips; duplicates dropped. */
  requestedIPs: IP[];
  /** The decoded document, for prevResult and the GC attachment list. */
  conf: HostLocalNetConf;
  doc: Record<string, unknown>;
}

// --- Go's json error text -------------------------------------------------

interface GoNode {
  type: string;
  /** The Go struct whose fields these are ('' for an anonymous struct). */
  struct?: string;
  fields?: Record<string, GoNode>;
  elem?: GoNode;
  /** A type with its own UnmarshalJSON: errors inside name the outer field. */
  opaque?: boolean;
}

const RANGE: GoNode = {
  type: 'allocator.Range',
  struct: 'Range',
  fields: { subnet: { type: 'string' }, rangeStart: { type: 'net.IP' }, rangeEnd: { type: 'net.IP' }, gateway: { type: 'net.IP' } },
};
const RANGE_SETS: GoNode = { type: '[]allocator.RangeSet', elem: { type: 'allocator.RangeSet', elem: RANGE } };
const IP_LIST: GoNode = { type: '[]*ip.IP', elem: { type: '*ip.IP' } };
const ROUTE: GoNode = {
  type: 'types.route',
  opaque: true,
  fields: {
    dst: { type: 'string' },
    gw: { type: 'net.IP' },
    mtu: { type: 'int' },
    advmss: { type: 'int' },
    priority: { type: 'int' },
    table: { type: 'int' },
    scope: { type: 'int' },
  },
};
const NET: GoNode = {
  type: 'allocator.Net',
  struct: 'Net',
  fields: {
    name: { type: 'string' },
    cniVersion: { type: 'string' },
    ipam: {
      type: 'allocator.IPAMConfig',
      struct: 'IPAMConfig',
      fields: {
        type: { type: 'string' },
        subnet: { type: 'string' },
        rangeStart: { type: 'net.IP' },
        rangeEnd: { type: 'net.IP' },
        gateway: { type: 'net.IP' },
        routes: { type: '[]*types.Route', elem: ROUTE },
        dataDir: { type: 'string' },
        resolvConf: { type: 'string' },
        ranges: RANGE_SETS,
      },
    },
    runtimeConfig: {
      type: 'struct { IPRanges []allocator.RangeSet "json:\\"ipRanges,omitempty\\""; IPs []*ip.IP "json:\\"ips,omitempty\\"" }',
      struct: '',
      fields: { ipRanges: RANGE_SETS, ips: IP_LIST },
    },
    args: {
      type: 'struct { A *allocator.IPAMArgs "json:\\"cni\\"" }',
      struct: '',
      fields: { cni: { type: 'allocator.IPAMArgs', struct: 'IPAMArgs', fields: { ips: IP_LIST } } },
    },
  },
};

const GENERIC_TYPE: Record<string, string> = { number: 'float64', int: 'int', boolean: 'bool', array: '[]interface {}', object: 'struct' };

/** Where Go's decoder stores the value at `path`: the field's Go type, and how its errors name it. */
function goFieldAt(path: readonly PropertyKey[]): { node: GoNode | undefined; into: string } {
  let node: GoNode | undefined = NET;
  let struct = 'Net';
  const keys: string[] = [];
  let frozen = false;
  for (const p of path) {
    if (!node) break;
    if (typeof p === 'number') {
      node = node.elem;
    } else {
      const parent: GoNode = node;
      node = parent.fields?.[String(p)];
      if (!frozen) {
        struct = parent.struct ?? struct;
        keys.push(String(p));
      }
    }
    if (node?.opaque) frozen = true;
  }
  return { node, into: `Go struct field ${struct}.${keys.join('.')}` };
}

/** The message Go's decoder gives for a value of the wrong JSON type at `path`. */
function typeErrorMessage(path: readonly PropertyKey[], value: unknown, expected: string | undefined): string {
  const { node, into } = goFieldAt(path);
  const goType = node?.type ?? GENERIC_TYPE[expected ?? ''] ?? expected ?? 'interface {}';
  return `json: cannot unmarshal ${goJsonTypeName(value)} into ${into} of type ${goType}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) cur = (cur as Record<PropertyKey, unknown> | undefined)?.[p];
  return cur;
}

function decodeNet(doc: Record<string, unknown>): HostLocalNetConf {
  const canon = canonicalize(HostLocalNetConfSchema, doc);
  // Only the fields of the reference's Net struct are decoded by Go; it skips the rest.
  const num = numberIssue(HostLocalNetConfSchema, canon, (path) => goFieldAt(path).node !== undefined);
  if (num) {
    const { node, into } = goFieldAt(num.path);
    throw new CniError(ErrorCode.DecodingFailure, numberRefusalMessage(num.text, into, node?.type ?? num.goType, num.why));
  }
  const parsed = HostLocalNetConfSchema.safeParse(canon);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const value = valueAt(canon, issue.path);
  const expected = (issue as { expected?: string }).expected;
  if (issue.code === 'invalid_type' && value !== undefined) {
    throw new CniError(ErrorCode.DecodingFailure, typeErrorMessage(issue.path, value, expected));
  }
  // The schema checks types only (numbers are checked above): nothing else should get here.
  throw new CniError(ErrorCode.DecodingFailure, `json: cannot unmarshal ${goJsonTypeName(value)} into ${goFieldAt(issue.path).into}`);
}

// --- address fields ---------------------------------------------------------

const decodeError = (msg: string) => new CniError(ErrorCode.DecodingFailure, msg);

/** net.IP from JSON: "" is unset. */
function netIP(s: string | undefined): IP | undefined {
  if (s === undefined || s === '') return undefined;
  const ip = parseIP(s);
  if (!ip) throw decodeError(`invalid IP address: ${s}`);
  return ip;
}

/** types.IPNet from JSON: a CIDR, host bits kept. */
function ipNet(s: string): CIDR {
  const c = parseCIDR(s);
  if (!c) throw decodeError(`invalid CIDR address: ${s}`);
  return c;
}

/** The address of pkg/ip's IP ("a.b.c.d" or "a.b.c.d/nn"); undefined for "". */
function pkgIP(s: string): IP | undefined {
  if (s === '') return undefined;
  const ip = s.includes('/') ? parseCIDR(s)?.ip : parseIP(s);
  if (!ip) throw new Error(`invalid IP address ${s}`);
  return ip;
}

function requestedFromJson(list: readonly string[] | undefined, out: (IP | undefined)[]): void {
  for (const s of list ?? []) {
    try {
      out.push(pkgIP(s));
    } catch (e) {
      throw decodeError((e as Error).message);
    }
  }
}

/** An IPv6-syntax CIDR naming an IPv4-mapped address: Go keeps a 16-byte mask on a 4-byte IP. */
const isMappedCIDR = (s: string, c: CIDR): boolean =>
  s.includes(':') && (c.ip.family === 4 || c.ip.value >> 32n === 0xffffn);

function rangeConfig(r: z.infer<typeof RangeSchema>): RangeConfig {
  const out: RangeConfig = {};
  if (r.subnet !== undefined) {
    out.subnet = ipNet(r.subnet);
    if (isMappedCIDR(r.subnet, out.subnet)) out.subnetIsMapped = true;
  }
  const start = netIP(r.rangeStart);
  const end = netIP(r.rangeEnd);
  const gw = netIP(r.gateway);
  if (start) out.rangeStart = start;
  if (end) out.rangeEnd = end;
  if (gw) out.gateway = gw;
  return out;
}

function route(r: z.infer<typeof RouteConfigSchema>, i: number): Route {
  // The reference passes a route without dst on as "<nil>", which breaks whoever reads the result.
  if (!r.dst) throw new CniError(ErrorCode.InvalidNetworkConfig, `ipam.routes[${i}]: missing "dst"`);
  const dst = ipNet(r.dst);
  const out: Route = { dst: formatCIDR(dst) };
  const gw = netIP(r.gw);
  if (gw) out.gw = formatIP(gw);
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    if (r[k] !== undefined) out[k] = r[k];
  }
  return out;
}

// --- loading ----------------------------------------------------------------

const invalid = (msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, msg);

/** allocator.LoadIPAMConfig: the same steps in the same order. */
export function loadIpamConfig(stdin: Buffer | string, cniArgs: string): IpamConfig {
  const doc = parseConfDocument(stdin, 'failed to load netconf');
  const conf = decodeNet(doc);
  const ipam = conf.ipam;

  // Address fields are decoded with the document, before any validation.
  const legacyFields = ipam ? rangeConfig(ipam) : undefined;
  const legacy = legacyFields?.subnet ? legacyFields : undefined;
  const configured = (ipam?.ranges ?? []).map((set) => set.map(rangeConfig));
  const runtimeSets = (conf.runtimeConfig?.ipRanges ?? []).map((set) => set.map(rangeConfig));
  const routes = (ipam?.routes ?? []).map((r, i) => route(r, i));
  const fromArgs: (IP | undefined)[] = [];
  requestedFromJson(conf.args?.cni?.ips, fromArgs);
  const fromRuntime: (IP | undefined)[] = [];
  requestedFromJson(conf.runtimeConfig?.ips, fromRuntime);

  if (!ipam) throw invalid("IPAM config missing 'ipam' key");

  const requested: (IP | undefined)[] = [];
  const envIP = loadArgs(cniArgs, { IP: pkgIP }).IP;
  if (envIP) requested.push(envIP);
  requested.push(...fromArgs, ...fromRuntime);
  const seen = new Set<string>();
  const requestedIPs: IP[] = [];
  for (const ip of requested) {
    if (!ip) throw invalid('cannot understand ip: IP <nil> not v4 nor v6');
    const key = formatIP(ip);
    if (seen.has(key)) continue;
    seen.add(key);
    requestedIPs.push(ip);
  }

  const rawSets = [...runtimeSets, ...(legacy ? [[legacy]] : []), ...configured];
  if (rawSets.length === 0) throw invalid('no IP ranges specified');

  const rangeSets: RangeSet[] = [];
  let v4 = 0;
  let v6 = 0;
  rawSets.forEach((raw, i) => {
    let set: RangeSet;
    try {
      set = canonicalizeRangeSet(raw);
    } catch (e) {
      throw e instanceof CniError ? e.wrap(`invalid range set ${i}`) : e;
    }
    if (set[0]!.rangeStart.family === 4) v4++;
    else v6++;
    rangeSets.push(set);
  });

  const cniVersion = conf.cniVersion ?? '';
  if (v4 > 1 || v6 > 1) {
    let multiple = false;
    try {
      multiple = versionAtLeast(cniVersion, '0.3.0');
    } catch {
      multiple = false;
    }
    if (!multiple) throw invalid(`CNI version ${cniVersion} does not support more than 1 address per family`);
  }

  for (let i = 0; i < rangeSets.length - 1; i++) {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(rangeSets[i]!, rangeSets[j]!)) throw invalid(`range set ${i} overlaps with ${j}`);
    }
  }

  const out: IpamConfig = {
    name: conf.name,
    cniVersion,
    dataDir: ipam.dataDir || DEFAULT_DATA_DIR,
    routes,
    rangeSets,
    requestedIPs,
    conf,
    doc,
  };
  if (ipam.resolvConf) out.resolvConf = ipam.resolvConf;
  return out;
}
