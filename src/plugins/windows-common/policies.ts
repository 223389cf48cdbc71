import { isPlainObject } from '../../cni/json.ts';
import { fieldCI } from '../../cni/keys.ts';
import { log } from '../../cni/log.ts';
import type { ApiVersion, HnsNetConf } from './conf.ts';

// Endpoint policies as the reference builds them (pkg/hns/netconf_windows.go):
// the user's EndpointPolicy values first, then generated ones, each generated
// policy skipped when an equal one is already there. Unlike the reference,
// generated policies are built as objects and serialised, never formatted
// into JSON text, so no value (a hostIP, a CIDR) can change their shape.

type Json = Record<string, unknown>;

/** The values of the conf's EndpointPolicy entries (name compared ignoring case), as written. */
export function userPolicyValues(conf: HnsNetConf): unknown[] {
  const out: unknown[] = [];
  for (const p of conf.policies ?? []) {
    if ((p.name ?? '').toLowerCase() !== 'endpointpolicy' || p.value === undefined) continue;
    out.push(p.value);
  }
  return out;
}

/**
 * A value in the form the API takes. v1 passes it through; v2 keeps what Go's
 * decoder makes of it as hcn.EndpointPolicy ({Type, Settings}, keys ignoring
 * case) and drops what does not decode, as the reference does.
 */
export function forApi(value: unknown, api: ApiVersion): unknown | undefined {
  if (api === 1) return value;
  if (!isPlainObject(value)) {
    log.warn('dropping an EndpointPolicy value that is not a {Type, Settings} object', { value });
    return undefined;
  }
  const type = fieldCI(value, 'Type');
  if (type !== undefined && type !== null && typeof type !== 'string') {
    log.warn('dropping an EndpointPolicy whose Type is not a string', { value });
    return undefined;
  }
  const settings = fieldCI(value, 'Settings');
  const policy: Json = { Type: type ?? '' };
  if (settings !== undefined) policy.Settings = settings;
  return policy;
}

// The reference looks into policies with exact key names ("Type", "Settings").
const typeOf = (v: unknown): unknown => (isPlainObject(v) ? v.Type : undefined);
const settingsOf = (v: unknown, api: ApiVersion): unknown => (api === 2 ? (isPlainObject(v) ? v.Settings : undefined) : v);

function stringsAt(v: unknown, key: string): string[] {
  const list = isPlainObject(v) ? v[key] : undefined;
  return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string' && s !== '') : [];
}

/** Every CIDR listed as an OutBoundNAT exception in `policies`. */
export function outboundNatExceptions(policies: readonly unknown[], api: ApiVersion): string[] {
  return policies
    .filter((p) => typeOf(p) === 'OutBoundNAT')
    .flatMap((p) => stringsAt(settingsOf(p, api), api === 2 ? 'Exceptions' : 'ExceptionList'));
}

/** Every address listed as an OutBoundNAT destination in `policies`. */
export function outboundNatDestinations(policies: readonly unknown[], api: ApiVersion): string[] {
  return policies
    .filter((p) => typeOf(p) === 'OutBoundNAT')
    .flatMap((p) => stringsAt(settingsOf(p, api), 'Destinations'));
}

/** Every provider address (PA) in `policies`. */
export function providerAddresses(policies: readonly unknown[], api: ApiVersion): string[] {
  const out: string[] = [];
  for (const p of policies) {
    const t = typeOf(p);
    if (t !== 'PA' && t !== 'ProviderAddress') continue;
    const s = settingsOf(p, api);
    const pa = isPlainObject(s) ? s[api === 2 ? 'ProviderAddress' : 'PA'] : undefined;
    if (typeof pa === 'string') out.push(pa);
  }
  return out;
}

/** sNAT for the endpoint, except towards `cidr`. */
export const outboundNatPolicy = (cidr: unknown, api: ApiVersion): Json =>
  api === 2 ? { Type: 'OutBoundNAT', Settings: { Exceptions: [cidr] } } : { Type: 'OutBoundNAT', ExceptionList: [cidr] };

/** Loopback DSR: traffic from the endpoint to its own address comes back to it. */
export const loopbackDsrPolicy = (ip: string, api: ApiVersion): Json =>
  api === 2 ? { Type: 'OutBoundNAT', Settings: { Destinations: [ip] } } : { Type: 'OutBoundNAT', Destinations: [ip] };

/** The overlay provider address (the host's management IP). */
export const providerAddressPolicy = (address: unknown, api: ApiVersion): Json =>
  api === 2 ? { Type: 'ProviderAddress', Settings: { ProviderAddress: address } } : { Type: 'PA', PA: address };

// Windows socket protocol numbers the reference accepts by name.
const PROTOCOLS: Record<string, number> = { icmpv4: 1, igmp: 2, tcp: 6, udp: 17, icmpv6: 58 };

/** Go's underscoreOK for base-0 number literals. */
function underscoresOk(s: string, hex: boolean, prefixed: boolean): boolean {
  let saw = prefixed ? '0' : '^';
  for (let i = prefixed ? 2 : 0; i < s.length; i++) {
    const c = s[i]!.toLowerCase();
    if ((c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f')) {
      saw = '0';
    } else if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else {
      if (saw === '_') return false;
      saw = '!';
    }
  }
  return saw !== '_';
}

/** strconv.ParseUint(s, 0, 10): base from the prefix, at most 1023. */
function parseUintBase0(s: string): number | undefined {
  if (s === '') return undefined;
  let base = 10;
  let digits = s;
  let prefixed = false;
  if (s[0] === '0' && s.length > 1) {
    const p = s[1]!.toLowerCase();
    if (p === 'x' || p === 'b' || p === 'o') {
      base = p === 'x' ? 16 : p === 'b' ? 2 : 8;
      digits = s.slice(2);
      prefixed = true;
    } else {
      base = 8;
      digits = s.slice(1);
    }
  }
  if (s.includes('_')) {
    if (!underscoresOk(s, base === 16, prefixed)) return undefined;
    digits = digits.replaceAll('_', '');
  }
  if (digits === '') return base === 8 && !prefixed ? 0 : undefined;
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base]!;
  if (!valid.test(digits)) return undefined;
  const n = parseInt(digits, base);
  return n < 1024 ? n : undefined;
}

/** GetProtocolEnum: a number (Go base-0 syntax) or a known name; undefined when invalid. */
export function protocolNumber(protocol: string): number | undefined {
  return parseUintBase0(protocol) ?? PROTOCOLS[protocol.toLowerCase()];
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: string | undefined;
  hostIP?: string | undefined;
}

/** One NAT (v1) or PortMapping (v2) policy per mapping; invalid protocols are skipped, as in the reference. */
export function portMappingPolicies(mappings: readonly PortMapping[], api: ApiVersion): Json[] {
  const out: Json[] = [];
  for (const m of mappings) {
    const protocol = m.protocol ?? '';
    const number = protocolNumber(protocol);
    if (number === undefined) {
      log.warn('skipping a port mapping with an unknown protocol', { protocol });
      continue;
    }
    out.push(
      api === 2
        ? {
            Type: 'PortMapping',
            Settings: { InternalPort: m.containerPort, ExternalPort: m.hostPort, Protocol: number, VIP: m.hostIP ?? '' },
          }
        : { Type: 'NAT', InternalPort: m.containerPort, ExternalPort: m.hostPort, Protocol: protocol },
    );
  }
  return out;
}
