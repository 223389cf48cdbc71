import crypto from 'node:crypto';

// The one HNS model of the test suite: the state the Host Networking Service
// keeps (networks, endpoints, namespaces, open HCN handles) and its answers to
// each native function weft-hns.cs calls, which the C stand-in
// (hns-standin.c) forwards here. It is meant to be stricter than HNS, never
// kinder:
//   - v1 (HNSCall) knows only v1 policy types and shapes, HCN only v2 ones
//     ({Type, Settings}, Settings typed);
//   - an IP address taken on the network is 0x80071392 "The object already
//     exists."; attaching an endpoint that is in a namespace, the requested
//     one or another, is HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS (0x803B002B);
//     deleting one still in a namespace HCN_E_ENTITY_HAS_REFERENCES;
//   - v1 failures come back as an error envelope with text only, or as a
//     failing HRESULT with the envelope beside it (`v1Errors`), HCN failures
//     as an HRESULT plus an error record; texts follow `locale` (English or
//     German), so only HRESULTs and state can be relied on;
//   - a network can be half made, as flanneld leaves it for a while: hidden
//     from lookups, without its ManagementIP yet, without the host endpoint;
//   - endpoints may not report their namespace (`hideEndpointNamespace`);
//   - HCN handles must be of the right kind, open, and closed again;
//   - faults make a call fail, or kill or hang the calling process after
//     HNS acted (the answer is lost).
// IDs are upper case through the v1 API and lower case through HCN, as a
// reminder that weft must compare them ignoring case.

export const HR = {
  invalidHandle: 0x80070006,
  elementNotFound: 0x80070490,
  alreadyExists: 0x80071392,
  invalidParameter: 0x80070057,
  networkNotFound: 0x803b0001,
  endpointNotFound: 0x803b0002,
  invalidPolicy: 0x803b000d,
  invalidPolicyType: 0x803b000e,
  alreadyAttached: 0x803b0014,
  invalidJson: 0x803b001b,
  invalidIp: 0x803b001e,
  namespaceAlreadyExists: 0x803b002b,
  hasReferences: 0x803b002c,
  namespaceAttachFailed: 0x803b002e,
  accessDenied: 0x80070005,
  fail: 0x80004005,
} as const;

export type Locale = 'en-US' | 'de-DE';

const TEXT: Record<number, Record<Locale, string>> = {
  [HR.invalidHandle]: { 'en-US': 'The handle is invalid.', 'de-DE': 'Das Handle ist ungültig.' },
  [HR.elementNotFound]: { 'en-US': 'Element not found.', 'de-DE': 'Element nicht gefunden.' },
  [HR.alreadyExists]: { 'en-US': 'The object already exists.', 'de-DE': 'Das Objekt ist bereits vorhanden.' },
  [HR.invalidParameter]: { 'en-US': 'The parameter is incorrect.', 'de-DE': 'Falscher Parameter.' },
  [HR.networkNotFound]: { 'en-US': 'The network was not found.', 'de-DE': 'Das Netzwerk wurde nicht gefunden.' },
  [HR.endpointNotFound]: { 'en-US': 'The endpoint was not found.', 'de-DE': 'Der Endpunkt wurde nicht gefunden.' },
  [HR.invalidPolicy]: { 'en-US': 'The policy is invalid.', 'de-DE': 'Die Richtlinie ist ungültig.' },
  [HR.invalidPolicyType]: { 'en-US': 'The policy type is invalid.', 'de-DE': 'Der Richtlinientyp ist ungültig.' },
  [HR.alreadyAttached]: {
    'en-US': 'This endpoint is already attached to the switch.',
    'de-DE': 'Dieser Endpunkt ist bereits mit dem Switch verbunden.',
  },
  [HR.invalidJson]: { 'en-US': 'Invalid JSON document string.', 'de-DE': 'Ungültige JSON-Dokumentzeichenfolge.' },
  [HR.invalidIp]: { 'en-US': 'The IP address is invalid.', 'de-DE': 'Die IP-Adresse ist ungültig.' },
  [HR.namespaceAlreadyExists]: {
    'en-US': 'The endpoint already exists in a namespace.',
    'de-DE': 'Der Endpunkt ist bereits in einem Namespace vorhanden.',
  },
  [HR.hasReferences]: { 'en-US': 'The entity has references.', 'de-DE': 'Die Entität hat Verweise.' },
  [HR.namespaceAttachFailed]: {
    'en-US': 'The requested operation for attach namespace failed.',
    'de-DE': 'Der angeforderte Vorgang zum Anfügen des Namespace ist fehlgeschlagen.',
  },
  [HR.accessDenied]: { 'en-US': 'Access is denied.', 'de-DE': 'Zugriff verweigert' },
  [HR.fail]: { 'en-US': 'Unspecified error', 'de-DE': 'Unbekannter Fehler' },
};

export interface Subnet {
  prefix: string;
  gateway: string;
}

export interface Network {
  id: string;
  name: string;
  type: string;
  subnets: Subnet[];
  managementIP?: string;
  /** Lookups that do not see the network yet (flanneld still creating it). */
  hiddenForLookups?: number;
  /** Lookups that see the network without its ManagementIP (flanneld waits for it). */
  managementIPHiddenFor?: number;
}

export interface Endpoint {
  id: string;
  name: string;
  networkId: string;
  ip: string;
  prefixLength: number;
  mac: string;
  gateway?: string;
  routePrefix?: string;
  dns: { servers: string[]; search: string[]; domain?: string; options: string[] };
  policies: unknown[];
  namespaceId?: string;
  api: 1 | 2;
  /** Endpoint listings that do not show it yet (flanneld creating the host endpoint). */
  hiddenForLookups?: number;
}

export interface Namespace {
  id: string;
  endpointIds: string[];
}

/** queryCreated: the first query of an endpoint just created (HcnCreateEndpoint's follow-up). */
export type FaultOp = 'hnsCall' | 'list' | 'open' | 'query' | 'queryCreated' | 'create' | 'delete' | 'attach' | 'detach';

export interface Fault {
  hr: number;
  message?: string;
  times?: number;
  /** hnsCall only: fail just this path (prefix). */
  path?: string;
  /** delete only: someone else deleted the endpoint just before (a race); the call fails as not found. */
  race?: boolean;
}

/** After the operation has taken effect, the caller never gets the answer. */
export interface LostAnswer {
  op: 'create' | 'attach' | 'delete';
  how: 'kill' | 'hang';
  times?: number;
}

export interface HnsState {
  globals: { version: { Major: number; Minor: number } };
  networks: Network[];
  endpoints: Endpoint[];
  namespaces: Namespace[];
  locale: Locale;
  /** How HNSCall reports a failure: an envelope only, an HRESULT (envelope beside), or not-found as envelope and the rest as HRESULTs. */
  v1Errors: 'envelope' | 'hresult' | 'mixed';
  hideEndpointNamespace: boolean;
  /** HNS creates endpoints without an address when none is asked for. */
  noAddress: boolean;
  faults: Partial<Record<FaultOp, Fault>>;
  lostAnswer?: LostAnswer;
  ops: Array<Record<string, unknown>>;
}

export interface Call {
  pid: number;
  argv: string[];
  scriptSha256: string | null;
  request: string | null;
  cniVarsSeen: string[];
}

export interface Answer {
  hr: number;
  /** 1: kill the caller now, 2: never return. */
  flags: number;
  handle: bigint;
  output: string | null;
  record: string | null;
}

export const freshState = (): HnsState => ({
  globals: { version: { Major: 15, Minor: 1 } },
  networks: [],
  endpoints: [],
  namespaces: [],
  locale: 'en-US',
  v1Errors: 'mixed',
  hideEndpointNamespace: false,
  noAddress: false,
  faults: {},
  ops: [],
});

class HnsFailure extends Error {
  constructor(
    readonly hr: number,
    message?: string,
  ) {
    super(message ?? '');
  }
}

type Json = Record<string, unknown>;

const same = (a: unknown, b: unknown): boolean => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

function ipToInt(ip: unknown): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(typeof ip === 'string' ? ip : '');
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}
const intToIp = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

function inSubnet(ip: string, prefix: string): boolean {
  const [base, len] = prefix.split('/');
  const mask = Number(len) === 0 ? 0 : (~0 << (32 - Number(len))) >>> 0;
  return ((ipToInt(ip)! & mask) >>> 0) === ((ipToInt(base)! & mask) >>> 0);
}

// Policy types each API knows (hcsshim internal/hns/hnspolicy.go, hcn/hcnpolicy.go), and what their fields must be.
const V1_POLICY_TYPES = new Set(['NAT', 'ACL', 'PA', 'VLAN', 'VSID', 'VNet', 'L2Driver', 'Isolation', 'QOS', 'OutBoundNAT', 'ELB', 'ROUTE', 'Proxy']);
const V2_POLICY_TYPES = new Set(['PortMapping', 'ACL', 'QOS', 'L2Driver', 'OutBoundNAT', 'SDNRoute', 'L4Proxy', 'L4WFPPROXY', 'ProviderAddress', 'NetworkACL', 'Encap', 'TierAcl']);
type FieldKind = 'string' | 'strings' | 'number' | 'boolean';
const V1_FIELDS: Record<string, Record<string, FieldKind>> = {
  OutBoundNAT: { ExceptionList: 'strings', Destinations: 'strings', VIP: 'string' },
  ROUTE: { DestinationPrefix: 'string', NeedEncap: 'boolean' },
  PA: { PA: 'string' },
  NAT: { InternalPort: 'number', ExternalPort: 'number', Protocol: 'string' },
};
const V2_SETTINGS: Record<string, Record<string, FieldKind>> = {
  OutBoundNAT: { Exceptions: 'strings', Destinations: 'strings', VirtualIP: 'string' },
  SDNRoute: { DestinationPrefix: 'string', NeedEncap: 'boolean', NextHop: 'string' },
  ProviderAddress: { ProviderAddress: 'string' },
  PortMapping: { InternalPort: 'number', ExternalPort: 'number', Protocol: 'number', VIP: 'string' },
};

function fieldOk(value: unknown, kind: FieldKind): boolean {
  if (value === undefined) return true;
  if (kind === 'strings') return Array.isArray(value) && value.every((v) => typeof v === 'string');
  return typeof value === kind;
}

function checkFields(obj: Json, fields: Record<string, FieldKind> | undefined, what: string): void {
  for (const [key, kind] of Object.entries(fields ?? {})) {
    if (!fieldOk(obj[key], kind)) throw new HnsFailure(HR.invalidPolicy, `${what}: ${key} must be ${kind}`);
  }
}

function validPolicies(policies: unknown, api: 1 | 2): unknown[] {
  if (policies === undefined || policies === null) return [];
  if (!Array.isArray(policies)) throw new HnsFailure(HR.invalidJson);
  for (const p of policies) {
    if (!isObject(p) || typeof p.Type !== 'string') throw new HnsFailure(HR.invalidPolicy);
    if (api === 1) {
      // A v1 policy is flat: Settings means an HCN policy sent to the v1 API.
      if (!V1_POLICY_TYPES.has(p.Type) || 'Settings' in p) throw new HnsFailure(HR.invalidPolicyType);
      checkFields(p, V1_FIELDS[p.Type], p.Type);
    } else {
      if (!V2_POLICY_TYPES.has(p.Type)) throw new HnsFailure(HR.invalidPolicyType);
      if (Object.keys(p).some((k) => k !== 'Type' && k !== 'Settings')) throw new HnsFailure(HR.invalidPolicy);
      if (p.Settings !== undefined && !isObject(p.Settings)) throw new HnsFailure(HR.invalidPolicy);
      checkFields(p.Settings ?? {}, V2_SETTINGS[p.Type], p.Type);
    }
  }
  return policies;
}

interface Handle {
  kind: 'Network' | 'Endpoint' | 'Namespace';
  id: string;
  pid: number;
  /** Made by HcnCreateEndpoint and not queried yet. */
  fresh?: boolean;
}

type Kind = Handle['kind'];

export class HnsModel {
  state: HnsState = freshState();
  readonly calls: Call[] = [];
  private readonly handles = new Map<bigint, Handle>();
  private nextHandle = 0x1000n;

  /** HCN handles still open, per process that opened them. */
  openHandles(): Handle[] {
    return [...this.handles.values()];
  }

  text(hr: number): string {
    return TEXT[hr]?.[this.state.locale] ?? `0x${hr.toString(16)}`;
  }

  private failure(hr: number, message?: string): HnsFailure {
    return new HnsFailure(hr, message ?? this.text(hr));
  }

  private fault(op: FaultOp, path?: string): HnsFailure | undefined {
    const f = this.state.faults[op];
    if (!f || (f.path !== undefined && !(path ?? '').startsWith(f.path))) return undefined;
    if (f.times !== undefined) {
      if (f.times <= 0) return undefined;
      f.times -= 1;
    }
    return this.failure(f.hr, f.message);
  }

  private lostAfter(op: LostAnswer['op']): number {
    const l = this.state.lostAnswer;
    if (!l || l.op !== op || (l.times !== undefined && l.times <= 0)) return 0;
    if (l.times !== undefined) l.times -= 1;
    return l.how === 'kill' ? 1 : 2;
  }

  /** What a listing shows: each object still hidden counts one lookup down instead. */
  private visible<T extends { hiddenForLookups?: number }>(all: T[]): T[] {
    return all.filter((o) => {
      if ((o.hiddenForLookups ?? 0) <= 0) return true;
      o.hiddenForLookups! -= 1;
      return false;
    });
  }

  private visibleNetworks = (): Network[] => this.visible(this.state.networks);
  private visibleEndpoints = (): Endpoint[] => this.visible(this.state.endpoints);

  /** The ManagementIP as a lookup sees it now. */
  private managementIP(n: Network): string | undefined {
    if ((n.managementIPHiddenFor ?? 0) > 0) {
      n.managementIPHiddenFor! -= 1;
      return undefined;
    }
    return n.managementIP;
  }

  // ---- views of the objects, per API ----

  private v1Network(n: Network): Json {
    const o: Json = { ID: n.id.toUpperCase(), Name: n.name, Type: n.type, Policies: [] };
    o.Subnets = n.subnets.map((s) => ({ AddressPrefix: s.prefix, GatewayAddress: s.gateway }));
    const mip = this.managementIP(n);
    if (mip) o.ManagementIP = mip;
    return o;
  }

  private v2Network(n: Network): Json {
    const mip = this.managementIP(n);
    return {
      ID: n.id.toLowerCase(),
      Name: n.name,
      Type: n.type,
      Ipams: [
        {
          Type: 'Static',
          Subnets: n.subnets.map((s) => ({ IpAddressPrefix: s.prefix, Routes: [{ NextHop: s.gateway, DestinationPrefix: '0.0.0.0/0' }] })),
        },
      ],
      Policies: mip ? [{ Type: 'ProviderAddress', Settings: { ProviderAddress: mip } }] : [],
      SchemaVersion: { Major: 2, Minor: 0 },
    };
  }

  private v1Endpoint(e: Endpoint): Json {
    const net = this.state.networks.find((n) => same(n.id, e.networkId));
    const o: Json = { ID: e.id.toUpperCase(), Name: e.name, VirtualNetwork: e.networkId.toUpperCase() };
    if (net) o.VirtualNetworkName = net.name;
    o.Policies = e.policies;
    o.MacAddress = e.mac;
    o.IPAddress = e.ip;
    o.PrefixLength = e.prefixLength;
    if (e.gateway) o.GatewayAddress = e.gateway;
    if (e.dns.search.length) o.DNSSuffix = e.dns.search.join(',');
    if (e.dns.servers.length) o.DNSServerList = e.dns.servers.join(',');
    o.State = e.namespaceId ? 2 : 1;
    if (e.namespaceId && !this.state.hideEndpointNamespace) o.Namespace = { ID: e.namespaceId.toUpperCase() };
    return o;
  }

  private v2Endpoint(e: Endpoint): Json {
    const o: Json = { ID: e.id.toLowerCase(), Name: e.name, HostComputeNetwork: e.networkId.toLowerCase() };
    if (e.namespaceId && !this.state.hideEndpointNamespace) o.HostComputeNamespace = e.namespaceId.toLowerCase();
    o.Policies = e.policies;
    o.IpConfigurations = [{ IpAddress: e.ip, PrefixLength: e.prefixLength }];
    const dns: Json = {};
    if (e.dns.domain) dns.Domain = e.dns.domain;
    if (e.dns.search.length) dns.Search = e.dns.search;
    if (e.dns.servers.length) dns.ServerList = e.dns.servers;
    if (e.dns.options.length) dns.Options = e.dns.options;
    o.Dns = dns;
    if (e.gateway) o.Routes = [{ NextHop: e.gateway, DestinationPrefix: e.routePrefix ?? '0.0.0.0/0' }];
    o.MacAddress = e.mac;
    o.SchemaVersion = { Major: 2, Minor: 0 };
    return o;
  }

  private v1Namespace = (ns: Namespace): Json => ({
    ID: ns.id.toUpperCase(),
    IsDefault: false,
    ResourceList: ns.endpointIds.map((id) => ({ Type: 'Endpoint', Data: { Id: id.toUpperCase() } })),
    CompartmentId: 2,
  });

  private v2Namespace = (ns: Namespace): Json => ({
    ID: ns.id.toLowerCase(),
    Type: 'Host',
    Resources: ns.endpointIds.map((id) => ({ Type: 'Endpoint', Data: { ID: id.toLowerCase() } })),
    SchemaVersion: { Major: 2, Minor: 0 },
  });

  // ---- operations shared by both APIs ----

  private createEndpoint(net: Network, spec: Omit<Endpoint, 'networkId' | 'prefixLength' | 'mac' | 'ip' | 'id'> & { id: string; ip?: unknown; mac?: unknown }): Endpoint {
    const f = this.fault('create');
    if (f) throw f;
    const subnet = net.subnets[0];
    if (!subnet) throw this.failure(HR.invalidIp);
    const taken = new Set(this.state.endpoints.filter((e) => same(e.networkId, net.id)).map((e) => e.ip));
    let ip: string;
    if (spec.ip !== undefined && spec.ip !== '') {
      if (typeof spec.ip !== 'string' || ipToInt(spec.ip) === undefined || !inSubnet(spec.ip, subnet.prefix)) throw this.failure(HR.invalidIp);
      if (taken.has(spec.ip)) throw this.failure(HR.alreadyExists);
      ip = spec.ip;
    } else if (this.state.noAddress) {
      ip = '';
    } else {
      // HNS picks an address itself when none is asked for.
      let n = ipToInt(subnet.prefix.split('/')[0])! + 2;
      while (taken.has(intToIp(n)) || intToIp(n) === subnet.gateway) n++;
      ip = intToIp(n);
    }
    if (this.state.endpoints.some((e) => same(e.id, spec.id))) throw this.failure(HR.alreadyExists);
    const id = spec.id;
    const e: Endpoint = {
      id,
      name: spec.name,
      networkId: net.id,
      ip,
      prefixLength: Number(subnet.prefix.split('/')[1]),
      mac: typeof spec.mac === 'string' && spec.mac ? spec.mac : `00-15-5D-${id.slice(0, 2)}-${id.slice(2, 4)}-${id.slice(4, 6)}`.toUpperCase(),
      dns: spec.dns,
      policies: spec.policies,
      api: spec.api,
    };
    if (spec.gateway) e.gateway = spec.gateway;
    if (spec.routePrefix) e.routePrefix = spec.routePrefix;
    this.state.endpoints.push(e);
    this.state.ops.push({ op: 'createEndpoint', api: spec.api, name: e.name, id });
    return e;
  }

  private deleteEndpoint(id: string, api: 1 | 2): void {
    const e = this.state.endpoints.find((x) => same(x.id, id));
    if (!e) throw this.failure(api === 2 ? HR.endpointNotFound : HR.elementNotFound);
    const race = this.state.faults.delete?.race === true;
    const f = this.fault('delete');
    if (f && race) {
      this.state.endpoints = this.state.endpoints.filter((x) => x !== e);
      for (const ns of this.state.namespaces) ns.endpointIds = ns.endpointIds.filter((x) => !same(x, e.id));
      throw this.failure(api === 2 ? HR.endpointNotFound : HR.elementNotFound);
    }
    if (f) throw f;
    if (e.namespaceId) throw this.failure(HR.hasReferences);
    this.state.endpoints = this.state.endpoints.filter((x) => x !== e);
    this.state.ops.push({ op: 'deleteEndpoint', api, name: e.name, id: e.id });
  }

  private attach(nsId: string, endpointId: string, api: 1 | 2): void {
    const ns = this.state.namespaces.find((n) => same(n.id, nsId));
    if (!ns) throw this.failure(HR.elementNotFound);
    const e = this.state.endpoints.find((x) => same(x.id, endpointId));
    if (!e) throw this.failure(api === 2 ? HR.endpointNotFound : HR.elementNotFound);
    const f = this.fault('attach');
    if (f) throw f;
    // The same answer whichever namespace holds it: the caller must look.
    if (e.namespaceId) throw this.failure(HR.namespaceAlreadyExists);
    e.namespaceId = ns.id;
    ns.endpointIds.push(e.id);
    this.state.ops.push({ op: 'attach', api, namespace: ns.id, name: e.name, id: e.id });
  }

  private detach(nsId: string, endpointId: string, api: 1 | 2): void {
    const ns = this.state.namespaces.find((n) => same(n.id, nsId));
    if (!ns) throw this.failure(HR.elementNotFound);
    const f = this.fault('detach');
    if (f) throw f;
    const e = this.state.endpoints.find((x) => same(x.id, endpointId));
    if (!e || !ns.endpointIds.some((id) => same(id, e.id))) throw this.failure(HR.elementNotFound);
    ns.endpointIds = ns.endpointIds.filter((id) => !same(id, e.id));
    delete e.namespaceId;
    this.state.ops.push({ op: 'detach', api, namespace: ns.id, name: e.name, id: e.id });
  }

  private parse(text: string | null): Json {
    try {
      const v: unknown = JSON.parse(text ?? '');
      if (isObject(v)) return v;
    } catch {
      // below
    }
    throw this.failure(HR.invalidJson);
  }

  // ---- the v1 JSON API: HNSCall(method, path, request) ----

  private v1Route(method: string, path: string, request: string | null): { output?: unknown; flags?: number } {
    const seg = path.split('/').filter(Boolean);
    const route = `${method} /${seg[0] ?? ''}${seg.length > 1 ? '/:id' : ''}${seg.length > 2 ? `/${seg[2]}` : ''}`;
    const split = (s: unknown) => (typeof s === 'string' && s !== '' ? s.split(',') : []);
    switch (route) {
      case 'GET /globals/:id':
        if (seg[1] !== 'version') throw this.failure(HR.elementNotFound);
        return { output: this.state.globals.version };
      case 'GET /networks':
        return { output: this.visibleNetworks().map((n) => this.v1Network(n)) };
      case 'GET /networks/:id': {
        const n = this.visibleNetworks().find((x) => same(x.id, seg[1]));
        if (!n) throw this.failure(HR.elementNotFound);
        return { output: this.v1Network(n) };
      }
      case 'GET /endpoints':
        return { output: this.visibleEndpoints().map((e) => this.v1Endpoint(e)) };
      case 'GET /endpoints/:id': {
        const e = this.state.endpoints.find((x) => same(x.id, seg[1]));
        if (!e) throw this.failure(HR.elementNotFound);
        return { output: this.v1Endpoint(e) };
      }
      case 'POST /endpoints': {
        const body = this.parse(request);
        const net = this.state.networks.find((n) => same(n.id, body.VirtualNetwork));
        if (!net) throw this.failure(HR.elementNotFound);
        if (typeof body.Name !== 'string') throw this.failure(HR.invalidParameter);
        const e = this.createEndpoint(net, {
          id: crypto.randomUUID(),
          api: 1,
          name: body.Name,
          ip: body.IPAddress,
          mac: body.MacAddress,
          ...(typeof body.GatewayAddress === 'string' ? { gateway: body.GatewayAddress } : {}),
          dns: { servers: split(body.DNSServerList), search: split(body.DNSSuffix), options: [], ...(typeof body.DNSDomain === 'string' ? { domain: body.DNSDomain } : {}) },
          policies: validPolicies(body.Policies, 1),
        });
        return { output: this.v1Endpoint(e), flags: this.lostAfter('create') };
      }
      case 'DELETE /endpoints/:id':
        this.deleteEndpoint(seg[1]!, 1);
        return { flags: this.lostAfter('delete') };
      case 'GET /namespaces/:id': {
        const ns = this.state.namespaces.find((n) => same(n.id, seg[1]));
        if (!ns) throw this.failure(HR.elementNotFound);
        return { output: this.v1Namespace(ns) };
      }
      case 'POST /namespaces/:id/addresource':
      case 'POST /namespaces/:id/removeresource': {
        const body = this.parse(request);
        const data = body.Data;
        if (body.Type !== 'Endpoint' || !isObject(data) || typeof data.Id !== 'string') throw this.failure(HR.invalidParameter);
        if (seg[2] === 'addresource') {
          this.attach(seg[1]!, data.Id, 1);
          return { flags: this.lostAfter('attach') };
        }
        this.detach(seg[1]!, data.Id, 1);
        return {};
      }
    }
    throw this.failure(HR.invalidParameter, `no such HNS route: ${method} ${path}`);
  }

  hnsCall(method: string, path: string, request: string | null): Answer {
    this.state.ops.push({ op: 'HNSCall', method, path });
    const envelope = (o: Json) => JSON.stringify(o);
    try {
      const f = this.fault('hnsCall', path);
      if (f) throw f;
      const { output, flags = 0 } = this.v1Route(method, path, request);
      return answer(0, envelope(output === undefined ? { Success: true } : { Success: true, Output: output }), null, flags);
    } catch (e) {
      if (!(e instanceof HnsFailure)) throw e;
      const text = envelope({ Success: false, Error: e.message });
      const style = this.state.v1Errors;
      const asEnvelope = style === 'envelope' || (style === 'mixed' && e.hr === HR.elementNotFound);
      return asEnvelope ? answer(0, text, null) : answer(e.hr, text, null);
    }
  }

  // ---- HCN (computenetwork.dll) ----

  private hcn(call: string, fn: () => Partial<Answer>): Answer {
    this.state.ops.push({ op: call });
    try {
      const a = fn();
      return { hr: 0, flags: 0, handle: 0n, output: null, record: null, ...a };
    } catch (e) {
      if (!(e instanceof HnsFailure)) throw e;
      return answer(e.hr, null, JSON.stringify({ Success: false, Error: e.message, ErrorCode: e.hr }));
    }
  }

  private objects(kind: Kind): Array<Network | Endpoint | Namespace> {
    if (kind === 'Network') return this.visibleNetworks();
    if (kind === 'Endpoint') return this.visibleEndpoints();
    return this.state.namespaces;
  }

  private view(kind: Kind, o: Network | Endpoint | Namespace): Json {
    if (kind === 'Network') return this.v2Network(o as Network);
    if (kind === 'Endpoint') return this.v2Endpoint(o as Endpoint);
    return this.v2Namespace(o as Namespace);
  }

  private query(text: string | null): Json {
    const q = this.parse(text);
    const v = q.SchemaVersion;
    if (!isObject(v) || v.Major !== 2) throw this.failure(HR.invalidJson);
    if (q.Filter === undefined || q.Filter === '') return {};
    if (typeof q.Filter !== 'string') throw this.failure(HR.invalidJson);
    return this.parse(q.Filter);
  }

  private handle(value: string | null, kind: Kind, pid: number): Handle {
    const h = this.handles.get(BigInt(value ?? '0'));
    if (!h || h.kind !== kind || h.pid !== pid) throw this.failure(HR.invalidHandle);
    return h;
  }

  private open(kind: Kind, id: string, pid: number): bigint {
    const handle = this.nextHandle;
    this.nextHandle += 16n;
    this.handles.set(handle, { kind, id, pid });
    return handle;
  }

  enumerate(kind: Kind, queryText: string | null): Answer {
    return this.hcn(`HcnEnumerate${kind}s`, () => {
      const filter = this.query(queryText);
      const f = this.fault('list');
      if (f) throw f;
      const ids = this.objects(kind)
        .filter((o) => {
          const view = this.view(kind, o);
          return Object.entries(filter).every(([key, want]) => view[key] === want);
        })
        .map((o) => (kind === 'Network' ? o.id.toLowerCase() : o.id.toLowerCase()));
      return { output: JSON.stringify(ids) };
    });
  }

  openObject(kind: Kind, guid: string | null, pid: number): Answer {
    return this.hcn(`HcnOpen${kind}`, () => {
      const f = this.fault('open');
      if (f) throw f;
      const found = this.find(kind, guid);
      if (!found) throw this.failure(kind === 'Network' ? HR.networkNotFound : kind === 'Endpoint' ? HR.endpointNotFound : HR.elementNotFound);
      return { handle: this.open(kind, found.id, pid) };
    });
  }

  private find(kind: Kind, id: string | null): Network | Endpoint | Namespace | undefined {
    const all: Array<Network | Endpoint | Namespace> = kind === 'Network' ? this.state.networks : kind === 'Endpoint' ? this.state.endpoints : this.state.namespaces;
    return all.find((o) => same(o.id, id));
  }

  queryProperties(kind: Kind, handle: string | null, queryText: string | null, pid: number): Answer {
    return this.hcn(`HcnQuery${kind}Properties`, () => {
      const h = this.handle(handle, kind, pid);
      this.query(queryText);
      const fresh = h.fresh === true;
      delete h.fresh;
      const f = (fresh ? this.fault('queryCreated') : undefined) ?? this.fault('query');
      if (f) throw f;
      const found = this.find(kind, h.id);
      if (!found) throw this.failure(kind === 'Endpoint' ? HR.endpointNotFound : HR.elementNotFound);
      return { output: JSON.stringify(this.view(kind, found)) };
    });
  }

  close(kind: Kind, handle: string | null, pid: number): Answer {
    return this.hcn(`HcnClose${kind}`, () => {
      this.handle(handle, kind, pid);
      this.handles.delete(BigInt(handle ?? '0'));
      return {};
    });
  }

  createHcnEndpoint(network: string | null, guid: string | null, settings: string | null, pid: number): Answer {
    return this.hcn('HcnCreateEndpoint', () => {
      const h = this.handle(network, 'Network', pid);
      const net = this.state.networks.find((n) => same(n.id, h.id));
      if (!net) throw this.failure(HR.networkNotFound);
      const body = this.parse(settings);
      const version = body.SchemaVersion;
      if (!same(body.HostComputeNetwork, net.id) || typeof body.Name !== 'string' || !isObject(version) || version.Major !== 2) {
        throw this.failure(HR.invalidJson);
      }
      const dns = isObject(body.Dns) ? body.Dns : {};
      const ipConfig = Array.isArray(body.IpConfigurations) && isObject(body.IpConfigurations[0]) ? body.IpConfigurations[0] : {};
      const route = Array.isArray(body.Routes) && isObject(body.Routes[0]) ? body.Routes[0] : {};
      const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
      const e = this.createEndpoint(net, {
        id: guid && guid !== ZERO_GUID ? guid : crypto.randomUUID(),
        api: 2,
        name: body.Name,
        ip: ipConfig.IpAddress,
        mac: body.MacAddress,
        ...(typeof route.NextHop === 'string' ? { gateway: route.NextHop } : {}),
        ...(typeof route.DestinationPrefix === 'string' ? { routePrefix: route.DestinationPrefix } : {}),
        dns: { servers: strings(dns.ServerList), search: strings(dns.Search), options: strings(dns.Options), ...(typeof dns.Domain === 'string' ? { domain: dns.Domain } : {}) },
        policies: validPolicies(body.Policies, 2),
      });
      const handle = this.open('Endpoint', e.id, pid);
      this.handles.get(handle)!.fresh = true;
      return { handle, flags: this.lostAfter('create') };
    });
  }

  deleteHcnEndpoint(guid: string | null): Answer {
    return this.hcn('HcnDeleteEndpoint', () => {
      this.deleteEndpoint(guid ?? '', 2);
      return { flags: this.lostAfter('delete') };
    });
  }

  modifyNamespace(handle: string | null, settings: string | null, pid: number): Answer {
    return this.hcn('HcnModifyNamespace', () => {
      const h = this.handle(handle, 'Namespace', pid);
      const body = this.parse(settings);
      const s = body.Settings;
      const endpointId = isObject(s) ? s.EndpointId : undefined;
      if (body.ResourceType !== 'Endpoint' || typeof endpointId !== 'string') throw this.failure(HR.invalidJson);
      if (body.RequestType === 'Add') {
        this.attach(h.id, endpointId, 2);
        return { flags: this.lostAfter('attach') };
      }
      if (body.RequestType !== 'Remove') throw this.failure(HR.invalidJson);
      this.detach(h.id, endpointId, 2);
      return {};
    });
  }

  /** One native call, as the C stand-in forwards it. */
  dispatch(fn: string, pid: number, args: Array<string | null>): Answer {
    const m = /^Hcn(Enumerate|Open|Query|Close)(Network|Endpoint|Namespace)s?(Properties)?$/.exec(fn);
    if (fn === 'HNSCall') return this.hnsCall(args[0] ?? '', args[1] ?? '', args[2] ?? null);
    if (fn === 'HcnCreateEndpoint') return this.createHcnEndpoint(args[0]!, args[1]!, args[2]!, pid);
    if (fn === 'HcnDeleteEndpoint') return this.deleteHcnEndpoint(args[0]!);
    if (fn === 'HcnModifyNamespace') return this.modifyNamespace(args[0]!, args[1]!, pid);
    if (m) {
      const kind = m[2] as Kind;
      if (m[1] === 'Enumerate') return this.enumerate(kind, args[0]!);
      if (m[1] === 'Open') return this.openObject(kind, args[0]!, pid);
      if (m[1] === 'Query') return this.queryProperties(kind, args[0]!, args[1]!, pid);
      return this.close(kind, args[0]!, pid);
    }
    throw new Error(`the HNS stand-in has no function ${fn}`);
  }
}

const answer = (hr: number, output: string | null, record: string | null, flags = 0): Answer => ({ hr: hr | 0, flags, handle: 0n, output, record });
