import { goJsonTypeName, isPlainObject, parseJson } from '../json.ts';
import { intRefusal, numberRefusalMessage, writtenNumber } from '../json-numbers.ts';
import { canonicalKeys } from '../keys.ts';
import { formatCIDR, formatIP, parseCIDR, parseIP } from '../../net/ip.ts';
import {
  type AnyResult,
  type DNS,
  type Interface100,
  type IPConfig020,
  type IPConfig040,
  type IPConfig100,
  type Result020,
  type Result040,
  type Result100,
  type Route,
  RESULT_VERSIONS,
  resultFamily,
} from './types.ts';

// Reading a result document the way Go's types/create does: the requested
// version picks the result type, keys match case-insensitively, every address
// is validated and normalised, and the document's own cniVersion must belong
// to that type.

class ResultDecodeError extends Error {}

type Obj = Record<string, unknown>;

function typeError(v: unknown, field: string, goType: string, struct: string): never {
  throw new ResultDecodeError(
    `json: cannot unmarshal ${goJsonTypeName(v)} into Go struct field ${struct}.${field} of type ${goType}`,
  );
}

function obj(v: unknown, keys: string[], field: string, struct: string): Obj {
  if (!isPlainObject(v)) typeError(v, field, struct, struct);
  return canonicalKeys(v, keys);
}

function str(o: Obj, k: string, struct: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') typeError(v, k, 'string', struct);
  return v;
}

function int(o: Obj, k: string, struct: string): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') typeError(v, k, 'int', struct);
  const text = writtenNumber(o, k, v);
  const why = intRefusal(text, v);
  if (why) throw new ResultDecodeError(numberRefusalMessage(text, `Go struct field ${struct}.${k}`, 'int', why));
  return v;
}

function strList(o: Obj, k: string, struct: string): string[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) typeError(v, k, '[]string', struct);
  return v.map((x) => (typeof x === 'string' ? x : typeError(x, k, 'string', struct)));
}

function list(o: Obj, k: string, struct: string): unknown[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) typeError(v, k, 'array', struct);
  return v;
}

/** net.IP text: "" means unset. */
function ipText(o: Obj, k: string, struct: string): string | undefined {
  const s = str(o, k, struct);
  if (s === undefined || s === '') return undefined;
  const ip = parseIP(s);
  if (!ip) throw new ResultDecodeError(`invalid IP address: ${s}`);
  return formatIP(ip);
}

/** types.IPNet text: a CIDR with host bits kept. */
function cidrText(o: Obj, k: string, struct: string): string {
  const v = o[k];
  if (v === undefined) return '<nil>';
  if (typeof v !== 'string') typeError(v, k, 'string', struct);
  const c = parseCIDR(v);
  if (!c) throw new ResultDecodeError(`invalid CIDR address: ${v}`);
  return formatCIDR(c);
}

function parseRoute(v: unknown): Route {
  const o = obj(v, ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'], 'routes', 'route');
  const r: Route = { dst: cidrText(o, 'dst', 'route') };
  const gw = ipText(o, 'gw', 'route');
  if (gw !== undefined) r.gw = gw;
  for (const k of ['mtu', 'advmss', 'priority'] as const) {
    const n = int(o, k, 'route');
    if (n) r[k] = n;
  }
  for (const k of ['table', 'scope'] as const) {
    const n = int(o, k, 'route');
    if (n !== undefined) r[k] = n;
  }
  return r;
}

function parseDNS(v: unknown): DNS {
  if (v === undefined) return {};
  const o = obj(v, ['nameservers', 'domain', 'search', 'options'], 'dns', 'DNS');
  const d: DNS = {};
  const ns = strList(o, 'nameservers', 'DNS');
  if (ns?.length) d.nameservers = ns;
  const domain = str(o, 'domain', 'DNS');
  if (domain) d.domain = domain;
  const search = strList(o, 'search', 'DNS');
  if (search?.length) d.search = search;
  const options = strList(o, 'options', 'DNS');
  if (options?.length) d.options = options;
  return d;
}

function parseRoutes(o: Obj, struct: string): Route[] | undefined {
  const rs = list(o, 'routes', struct)?.map(parseRoute);
  return rs?.length ? rs : undefined;
}

/** An ips entry (interface index, address, gateway), the same in 0.3.x to 1.1.0. */
function parseIPConfig(i: Obj): IPConfig100 {
  const out: IPConfig100 = { address: cidrText(i, 'address', 'ipConfig') };
  const idx = int(i, 'interface', 'ipConfig');
  if (idx !== undefined) out.interface = idx;
  const gw = ipText(i, 'gateway', 'ipConfig');
  if (gw !== undefined) out.gateway = gw;
  return out;
}

function parse100(doc: Obj): Result100 {
  const o = canonicalKeys(doc, ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
  const r: Result100 = { cniVersion: str(o, 'cniVersion', 'Result') ?? '' };
  const ifs = list(o, 'interfaces', 'Result')?.map((v): Interface100 => {
    const i = obj(v, ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID'], 'interfaces', 'Interface');
    const out: Interface100 = { name: str(i, 'name', 'Interface') ?? '' };
    const mac = str(i, 'mac', 'Interface');
    if (mac) out.mac = mac;
    const mtu = int(i, 'mtu', 'Interface');
    if (mtu) out.mtu = mtu;
    for (const k of ['sandbox', 'socketPath', 'pciID'] as const) {
      const s = str(i, k, 'Interface');
      if (s) out[k] = s;
    }
    return out;
  });
  if (ifs?.length) r.interfaces = ifs;
  const ips = list(o, 'ips', 'Result')?.map((v) => parseIPConfig(obj(v, ['interface', 'address', 'gateway'], 'ips', 'ipConfig')));
  if (ips?.length) r.ips = ips;
  const routes = parseRoutes(o, 'Result');
  if (routes) r.routes = routes;
  const dns = parseDNS(o.dns);
  if (Object.keys(dns).length) r.dns = dns;
  return r;
}

function parse040(doc: Obj): Result040 {
  const o = canonicalKeys(doc, ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
  const r: Result040 = { cniVersion: str(o, 'cniVersion', 'Result') ?? '', dns: parseDNS(o.dns) };
  const ifs = list(o, 'interfaces', 'Result')?.map((v) => {
    const i = obj(v, ['name', 'mac', 'sandbox'], 'interfaces', 'Interface');
    const out: { name: string; mac?: string; sandbox?: string } = { name: str(i, 'name', 'Interface') ?? '' };
    const mac = str(i, 'mac', 'Interface');
    if (mac) out.mac = mac;
    const sandbox = str(i, 'sandbox', 'Interface');
    if (sandbox) out.sandbox = sandbox;
    return out;
  });
  if (ifs?.length) r.interfaces = ifs;
  const ips = list(o, 'ips', 'Result')?.map((v): IPConfig040 => {
    const i = obj(v, ['version', 'interface', 'address', 'gateway'], 'ips', 'ipConfig');
    return { version: str(i, 'version', 'ipConfig') ?? '', ...parseIPConfig(i) };
  });
  if (ips?.length) r.ips = ips;
  const routes = parseRoutes(o, 'Result');
  if (routes) r.routes = routes;
  return r;
}

function parse020(doc: Obj): Result020 {
  const o = canonicalKeys(doc, ['cniVersion', 'ip4', 'ip6', 'dns']);
  const r: Result020 = { cniVersion: str(o, 'cniVersion', 'Result') ?? '', dns: parseDNS(o.dns) };
  for (const fam of ['ip4', 'ip6'] as const) {
    if (o[fam] === undefined) continue;
    const i = obj(o[fam], ['ip', 'gateway', 'routes'], fam, 'Result');
    const out: IPConfig020 = { ip: cidrText(i, 'ip', 'ipConfig') };
    const gw = ipText(i, 'gateway', 'ipConfig');
    if (gw !== undefined) out.gateway = gw;
    const routes = parseRoutes(i, 'ipConfig');
    if (routes) out.routes = routes;
    r[fam] = out;
  }
  return r;
}

/**
 * create.Create(version, bytes): decode `doc` as a result of `version`'s type.
 * Throws an Error with Go's message on any problem.
 */
export function createResult(version: string, doc: unknown): AnyResult {
  const family = resultFamily(version);
  if (!family) throw new Error(`unsupported CNI result version ${JSON.stringify(version)}`);
  let value = doc;
  if (typeof doc === 'string' || Buffer.isBuffer(doc)) value = parseJson(doc);
  if (!isPlainObject(value)) {
    throw new Error(`json: cannot unmarshal ${goJsonTypeName(value)} into Go value of type Result`);
  }
  const result = family === '100' ? parse100(value) : family === '040' ? parse040(value) : parse020(value);
  // types020 also accepts an empty version, and reads it as 0.1.0.
  const supported = family === '020' ? ['', ...RESULT_VERSIONS[family]] : RESULT_VERSIONS[family];
  if (!supported.includes(result.cniVersion)) {
    throw new Error(
      `result type supports [${supported.join(' ')}] but unmarshalled CNIVersion is ${JSON.stringify(result.cniVersion)}`,
    );
  }
  if (result.cniVersion === '') result.cniVersion = '0.1.0';
  return result;
}
