// A stateful stand-in for the Host Networking Service, kept in a JSON file so
// that every fake PowerShell process (one per CNI command) sees the same
// networks, endpoints and namespaces. It answers the v1 JSON API (HNSCall)
// and the HCN calls weft-hns.ps1 makes, with HNS's shapes and errors:
//   0x80070490 "Element not found."            unknown object (HCN: failing HRESULT;
//                                              v1: envelope {Success:false, Error})
//   0x80071392 "The object already exists."    an address already taken on the network
//                                              (HNSCall/HcnCreateEndpoint HRESULT)
//   0x803B0014 endpoint already attached       attaching to the namespace it is in
//   0x803B002B endpoint already in a namespace attaching to another namespace
//   0x803B002C entity has references           deleting an endpoint still in a namespace
//   0x803B001B invalid JSON, 0x803B001E invalid IP (not in the network's subnet)
// state.quirks.noAddress makes HNS create endpoints without an address when
// none is asked for. Faults can be injected per operation (state.faults.<op> = {hr, message, times},
// and for hnsCall a path).
// IDs are upper case through the v1 API and lower case through HCN, as a
// reminder that weft must compare them ignoring case.
import crypto from 'node:crypto';
import fs from 'node:fs';

export const HR = {
  elementNotFound: 0x80070490,
  alreadyExists: 0x80071392,
  endpointNotFound: 0x803b0002,
  alreadyAttached: 0x803b0014,
  invalidJson: 0x803b001b,
  invalidIp: 0x803b001e,
  inOtherNamespace: 0x803b002b,
  hasReferences: 0x803b002c,
};

const WIN32_TEXT = {
  [HR.elementNotFound]: 'Element not found.',
  [HR.alreadyExists]: 'The object already exists.',
};

export const win32Text = (hr) => WIN32_TEXT[hr] ?? `Unknown error (0x${hr.toString(16)})`;

// ---- state file, locked per call (HNS calls are atomic; plans are not) ----

const sleepMs = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function withState(file, fn) {
  const lock = `${file}.lock`;
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST' || i > 2000) throw e;
      sleepMs(5);
    }
  }
  try {
    const state = JSON.parse(fs.readFileSync(file, 'utf8'));
    state.ops ??= [];
    state.faults ??= {};
    const out = fn(state);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 1));
    fs.renameSync(tmp, file);
    return out;
  } finally {
    fs.rmdirSync(lock);
  }
}

// ---- helpers ----

const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
const newId = () => crypto.randomUUID();

function ipToInt(ip) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip ?? '');
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}
const intToIp = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

function inSubnet(ip, prefix) {
  const [base, len] = prefix.split('/');
  const mask = Number(len) === 0 ? 0 : (~0 << (32 - Number(len))) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(base) & mask) >>> 0);
}

function fault(state, op, path) {
  const f = state.faults[op];
  if (!f || (f.path !== undefined && f.path !== path)) return undefined;
  if (f.times !== undefined) {
    if (f.times <= 0) return undefined;
    f.times -= 1;
  }
  return { hr: f.hr, message: f.message ?? win32Text(f.hr) };
}

function visibleNetworks(state) {
  const out = [];
  for (const n of state.networks) {
    if (n.hiddenForLookups > 0) {
      n.hiddenForLookups -= 1;
      continue;
    }
    out.push(n);
  }
  return out;
}

// ---- views of the objects, per API ----

export function v1Network(n) {
  const o = { ID: n.id.toUpperCase(), Name: n.name, Type: n.type, Policies: [] };
  o.Subnets = n.subnets.map((s) => ({ AddressPrefix: s.prefix, GatewayAddress: s.gateway }));
  if (n.managementIP) o.ManagementIP = n.managementIP;
  return o;
}

export function v2Network(n) {
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
    Policies: n.managementIP ? [{ Type: 'ProviderAddress', Settings: { ProviderAddress: n.managementIP } }] : [],
    SchemaVersion: { Major: 2, Minor: 0 },
  };
}

export function v1Endpoint(state, e) {
  const net = state.networks.find((n) => same(n.id, e.networkId));
  const o = { ID: e.id.toUpperCase(), Name: e.name, VirtualNetwork: e.networkId.toUpperCase() };
  if (net) o.VirtualNetworkName = net.name;
  o.Policies = e.policies;
  o.MacAddress = e.mac;
  o.IPAddress = e.ip;
  o.PrefixLength = e.prefixLength;
  if (e.gateway) o.GatewayAddress = e.gateway;
  if (e.dns.search.length) o.DNSSuffix = e.dns.search.join(',');
  if (e.dns.servers.length) o.DNSServerList = e.dns.servers.join(',');
  o.State = e.namespaceId ? 2 : 1;
  if (e.namespaceId) o.Namespace = { ID: e.namespaceId.toUpperCase() };
  return o;
}

export function v2Endpoint(e) {
  const o = { ID: e.id.toLowerCase(), Name: e.name, HostComputeNetwork: e.networkId.toLowerCase() };
  if (e.namespaceId) o.HostComputeNamespace = e.namespaceId.toLowerCase();
  o.Policies = e.policies;
  o.IpConfigurations = [{ IpAddress: e.ip, PrefixLength: e.prefixLength }];
  const dns = {};
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

const v1Namespace = (ns) => ({
  ID: ns.id.toUpperCase(),
  IsDefault: false,
  ResourceList: ns.endpointIds.map((id) => ({ Type: 'Endpoint', Data: { Id: id.toUpperCase() } })),
  CompartmentId: ns.compartment ?? 2,
});

const v2Namespace = (ns) => ({
  ID: ns.id.toLowerCase(),
  Type: 'Host',
  Resources: ns.endpointIds.map((id) => ({ Type: 'Endpoint', Data: { ID: id.toLowerCase() } })),
  SchemaVersion: { Major: 2, Minor: 0 },
});

// ---- operations shared by both APIs ----

class HnsFailure extends Error {
  constructor(hr, message) {
    super(message ?? win32Text(hr));
    this.hr = hr;
  }
}

function validPolicies(policies, api) {
  if (policies === undefined) return [];
  if (!Array.isArray(policies)) throw new HnsFailure(HR.invalidJson, 'Policies must be a list');
  for (const p of policies) {
    if (p === null || typeof p !== 'object' || Array.isArray(p) || typeof p.Type !== 'string') {
      throw new HnsFailure(HR.invalidJson, 'a policy must be an object with a Type');
    }
    if (api === 2 && Object.keys(p).some((k) => k !== 'Type' && k !== 'Settings')) {
      throw new HnsFailure(HR.invalidJson, 'HCN policies are {Type, Settings}');
    }
  }
  return policies;
}

function createEndpoint(state, net, spec) {
  const f = fault(state, 'create');
  if (f) throw new HnsFailure(f.hr, f.message);
  const subnet = net.subnets[0];
  let ip = spec.ip;
  const taken = new Set(state.endpoints.filter((e) => same(e.networkId, net.id)).map((e) => e.ip));
  if (ip) {
    if (ipToInt(ip) === undefined || !subnet || !inSubnet(ip, subnet.prefix)) throw new HnsFailure(HR.invalidIp);
    if (taken.has(ip)) throw new HnsFailure(HR.alreadyExists);
  } else if (state.quirks?.noAddress) {
    ip = '';
  } else {
    // HNS picks an address itself when none is asked for.
    const base = ipToInt(subnet.prefix.split('/')[0]);
    for (let n = base + 2; ; n++) {
      if (!taken.has(intToIp(n)) && intToIp(n) !== subnet.gateway) {
        ip = intToIp(n);
        break;
      }
    }
  }
  const id = newId();
  const e = {
    id,
    name: spec.name,
    networkId: net.id,
    ip,
    prefixLength: Number(subnet.prefix.split('/')[1]),
    mac: spec.mac || `00-15-5D-${id.slice(0, 2)}-${id.slice(2, 4)}-${id.slice(4, 6)}`.toUpperCase(),
    gateway: spec.gateway || undefined,
    routePrefix: spec.routePrefix,
    dns: spec.dns,
    policies: spec.policies,
    namespaceId: undefined,
    api: spec.api,
  };
  state.endpoints.push(e);
  state.ops.push({ op: 'createEndpoint', api: spec.api, name: e.name, id });
  return e;
}

function deleteEndpoint(state, id, api) {
  const e = state.endpoints.find((x) => same(x.id, id));
  if (!e) throw new HnsFailure(HR.elementNotFound);
  const f = fault(state, 'delete');
  if (f) throw new HnsFailure(f.hr, f.message);
  if (e.namespaceId) throw new HnsFailure(HR.hasReferences);
  state.endpoints = state.endpoints.filter((x) => x !== e);
  state.ops.push({ op: 'deleteEndpoint', api, name: e.name, id: e.id });
}

function attach(state, nsId, endpointId, api) {
  const ns = state.namespaces.find((n) => same(n.id, nsId));
  if (!ns) throw new HnsFailure(HR.elementNotFound);
  const e = state.endpoints.find((x) => same(x.id, endpointId));
  if (!e) throw new HnsFailure(api === 2 ? HR.endpointNotFound : HR.elementNotFound, api === 2 ? 'The endpoint was not found.' : undefined);
  const f = fault(state, 'attach');
  if (f) throw new HnsFailure(f.hr, f.message);
  if (e.namespaceId && same(e.namespaceId, ns.id)) throw new HnsFailure(HR.alreadyAttached, 'This endpoint is already attached to the switch.');
  if (e.namespaceId) throw new HnsFailure(HR.inOtherNamespace);
  e.namespaceId = ns.id;
  ns.endpointIds.push(e.id);
  state.ops.push({ op: 'attach', api, namespace: ns.id, name: e.name, id: e.id });
}

function detach(state, nsId, endpointId, api) {
  const ns = state.namespaces.find((n) => same(n.id, nsId));
  if (!ns) throw new HnsFailure(HR.elementNotFound);
  const f = fault(state, 'detach');
  if (f) throw new HnsFailure(f.hr, f.message);
  const e = state.endpoints.find((x) => same(x.id, endpointId));
  if (!e || !ns.endpointIds.some((id) => same(id, e.id))) throw new HnsFailure(HR.elementNotFound);
  ns.endpointIds = ns.endpointIds.filter((id) => !same(id, e.id));
  e.namespaceId = undefined;
  state.ops.push({ op: 'detach', api, namespace: ns.id, name: e.name, id: e.id });
}

function parseBody(text) {
  try {
    return JSON.parse(text);
  } catch {
    throw new HnsFailure(HR.invalidJson, 'Invalid JSON document string.');
  }
}

// ---- the v1 JSON API: HNSCall(method, path, request) ----

/**
 * Returns {hr} for a failing HRESULT (with message), else {envelope}: the text
 * HNSCall would hand back.
 */
export function hnsCall(stateFile, method, path, request) {
  return withState(stateFile, (state) => {
    state.ops.push({ op: 'HNSCall', method, path });
    const ok = (Output) => ({ envelope: JSON.stringify(Output === undefined ? { Success: true } : { Success: true, Output }) });
    const err = (Error) => ({ envelope: JSON.stringify({ Success: false, Error }) });
    try {
      const f = fault(state, 'hnsCall', path);
      if (f) return { hr: f.hr, message: f.message };
      const seg = path.split('/').filter(Boolean);
      const route = `${method} /${seg[0] ?? ''}${seg.length > 1 ? '/:id' : ''}${seg.length > 2 ? `/${seg[2]}` : ''}`;
      switch (route) {
        case 'GET /globals/:id':
          return seg[1] === 'version' ? ok(state.globals.version) : err('Element not found.');
        case 'GET /networks':
          return ok(visibleNetworks(state).map(v1Network));
        case 'GET /networks/:id': {
          const n = visibleNetworks(state).find((x) => same(x.id, seg[1]));
          return n ? ok(v1Network(n)) : err('Element not found.');
        }
        case 'GET /endpoints':
          return ok(state.endpoints.map((e) => v1Endpoint(state, e)));
        case 'GET /endpoints/:id': {
          const e = state.endpoints.find((x) => same(x.id, seg[1]));
          return e ? ok(v1Endpoint(state, e)) : err('Element not found.');
        }
        case 'POST /endpoints': {
          const body = parseBody(request);
          const net = state.networks.find((n) => same(n.id, body.VirtualNetwork));
          if (!net) return err('Element not found.');
          if (typeof body.Name !== 'string') return err('The parameter is incorrect.');
          const split = (s) => (typeof s === 'string' && s !== '' ? s.split(',') : []);
          const e = createEndpoint(state, net, {
            api: 1,
            name: body.Name,
            ip: body.IPAddress,
            mac: body.MacAddress,
            gateway: body.GatewayAddress,
            dns: { servers: split(body.DNSServerList), search: split(body.DNSSuffix), domain: body.DNSDomain, options: [] },
            policies: validPolicies(body.Policies, 1),
          });
          return ok(v1Endpoint(state, e));
        }
        case 'DELETE /endpoints/:id':
          deleteEndpoint(state, seg[1], 1);
          return ok(undefined);
        case 'GET /namespaces/:id': {
          const ns = state.namespaces.find((n) => same(n.id, seg[1]));
          return ns ? ok(v1Namespace(ns)) : err('Element not found.');
        }
        case 'POST /namespaces/:id/addresource':
        case 'POST /namespaces/:id/removeresource': {
          const body = parseBody(request);
          if (body.Type !== 'Endpoint' || typeof body.Data?.Id !== 'string') return err('The parameter is incorrect.');
          if (seg[2] === 'addresource') attach(state, seg[1], body.Data.Id, 1);
          else detach(state, seg[1], body.Data.Id, 1);
          return ok(undefined);
        }
        default:
          return err(`no such HNS route: ${method} ${path}`);
      }
    } catch (e) {
      if (!(e instanceof HnsFailure)) throw e;
      // Not-found is an error envelope in the v1 API; other failures are HRESULTs.
      if (e.hr === HR.elementNotFound) return err(e.message);
      return { hr: e.hr, message: e.message };
    }
  });
}

// ---- HCN (computenetwork.dll) ----

const KINDS = {
  Network: { list: (s) => visibleNetworks(s), view: (s, n) => v2Network(n) },
  Endpoint: { list: (s) => s.endpoints, view: (s, e) => v2Endpoint(e) },
  Namespace: { list: (s) => s.namespaces, view: (s, ns) => v2Namespace(ns) },
};

/** Returns {output} or {hr, record}; `call` names the failing function like the script does. */
function hcn(stateFile, call, fn) {
  return withState(stateFile, (state) => {
    state.ops.push({ op: call });
    try {
      return { output: fn(state) };
    } catch (e) {
      if (!(e instanceof HnsFailure)) throw e;
      return { hr: e.hr, call, record: JSON.stringify({ Success: false, Error: e.message, ErrorCode: e.hr }) };
    }
  });
}

function hcnFilter(query) {
  const q = parseBody(query);
  if (q.Filter === undefined || q.Filter === '') return {};
  return parseBody(q.Filter);
}

export const hcnList = (stateFile, kind, query) =>
  hcn(stateFile, `HcnEnumerate${kind}s`, (state) => {
    const filter = hcnFilter(query);
    const k = KINDS[kind];
    const f = fault(state, 'list');
    if (f) throw new HnsFailure(f.hr, f.message);
    return k
      .list(state)
      .map((o) => k.view(state, o))
      .filter((view) => Object.entries(filter).every(([key, want]) => view[key] === want));
  });

export const hcnGet = (stateFile, kind, id, query) =>
  hcn(stateFile, `HcnOpen${kind}`, (state) => {
    hcnFilter(query);
    const k = KINDS[kind];
    const found = k.list(state).find((o) => same(o.id, id));
    if (!found) throw new HnsFailure(HR.elementNotFound);
    return k.view(state, found);
  });

export const hcnCreateEndpoint = (stateFile, networkId, settings, query) =>
  hcn(stateFile, 'HcnCreateEndpoint', (state) => {
    hcnFilter(query);
    const net = state.networks.find((n) => same(n.id, networkId));
    if (!net) throw new HnsFailure(HR.elementNotFound);
    const body = parseBody(settings);
    if (!same(body.HostComputeNetwork, net.id) || typeof body.Name !== 'string') throw new HnsFailure(HR.invalidJson, 'invalid endpoint');
    if (body.SchemaVersion?.Major !== 2) throw new HnsFailure(HR.invalidJson, 'SchemaVersion 2 expected');
    const dns = body.Dns ?? {};
    const e = createEndpoint(state, net, {
      api: 2,
      name: body.Name,
      ip: body.IpConfigurations?.[0]?.IpAddress,
      mac: body.MacAddress,
      gateway: body.Routes?.[0]?.NextHop,
      routePrefix: body.Routes?.[0]?.DestinationPrefix,
      dns: { servers: dns.ServerList ?? [], search: dns.Search ?? [], domain: dns.Domain, options: dns.Options ?? [] },
      policies: validPolicies(body.Policies, 2),
    });
    return v2Endpoint(e);
  });

export const hcnDeleteEndpoint = (stateFile, id) =>
  hcn(stateFile, 'HcnDeleteEndpoint', (state) => {
    deleteEndpoint(state, id, 2);
    return null;
  });

export const hcnModifyNamespace = (stateFile, id, settings) =>
  hcn(stateFile, 'HcnModifyNamespace', (state) => {
    const body = parseBody(settings);
    const endpointId = body.Settings?.EndpointId;
    if (body.ResourceType !== 'Endpoint' || typeof endpointId !== 'string') throw new HnsFailure(HR.invalidJson, 'invalid namespace request');
    if (body.RequestType === 'Add') attach(state, id, endpointId, 2);
    else if (body.RequestType === 'Remove') detach(state, id, endpointId, 2);
    else throw new HnsFailure(HR.invalidJson, 'unknown RequestType');
    return null;
  });
