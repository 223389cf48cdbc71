import { CniError, ErrorCode } from '../../cni/errors.ts';
import {
  type CIDR,
  type IP,
  addToIP,
  bitsOf,
  cidrContains,
  compareIP,
  formatCIDR,
  formatIP,
  ipEqual,
  lastAddressOf,
  networkOf,
} from '../../net/ip.ts';

// host-local's ranges and range sets (reference-plugins.md §2.2): defaults,
// validation with the reference's messages, containment and overlap.

/** A range as configured: every field optional until canonicalised. */
export interface RangeConfig {
  subnet?: CIDR;
  /** The subnet was written as an IPv4-mapped IPv6 CIDR (Go: 4-byte IP, 16-byte mask). */
  subnetIsMapped?: boolean;
  rangeStart?: IP;
  rangeEnd?: IP;
  gateway?: IP;
}

/** A canonical range: start and end are set; the gateway defaults to net+1. */
export interface Range {
  subnet: CIDR;
  rangeStart: IP;
  rangeEnd: IP;
  gateway?: IP;
}

export type RangeSet = readonly Range[];

const invalid = (msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, msg);

/** Range.Contains: same family, inside the subnet, within start..end where those are set. */
export function rangeContains(r: RangeConfig & { subnet: CIDR }, ip: IP): boolean {
  if (!cidrContains(r.subnet, ip)) return false;
  if (r.rangeStart && compareIP(ip, r.rangeStart) < 0) return false;
  if (r.rangeEnd && compareIP(ip, r.rangeEnd) > 0) return false;
  return true;
}

/** The last address of a subnet, minus the IPv4 broadcast address. */
function defaultRangeEnd(subnet: CIDR): IP {
  const last = lastAddressOf(subnet);
  return subnet.ip.family === 4 ? { family: 4, value: last.value - 1n } : last;
}

/** Range.Canonicalize, in the reference's order and with its messages. */
export function canonicalizeRange(raw: RangeConfig): Range {
  const subnet = raw.subnet;
  if (!subnet) throw invalid('IP <nil> not v4 nor v6');
  const bits = raw.subnetIsMapped ? 128 : bitsOf(subnet.ip.family);
  const ones = raw.subnetIsMapped && subnet.ip.family === 4 ? subnet.prefix + 96 : subnet.prefix;
  if (ones > bits - 2) throw invalid(`Network ${formatCIDR(subnet)} too small to allocate from`);
  if (raw.subnetIsMapped) throw invalid('IPNet IP and Mask version mismatch');
  const network = networkOf(subnet);
  if (network.ip.value !== subnet.ip.value) {
    throw invalid(
      `Network has host bits set. For a subnet mask of length ${ones} the network address is ${formatIP(network.ip)}`,
    );
  }
  const netPlusOne = addToIP(subnet.ip, 1n)!;
  const gateway = raw.gateway ?? netPlusOne;
  const withSubnet = { subnet, rangeStart: raw.rangeStart, rangeEnd: raw.rangeEnd };
  let rangeStart = netPlusOne;
  if (raw.rangeStart) {
    if (!rangeContains(withSubnet, raw.rangeStart)) {
      throw invalid(`RangeStart ${formatIP(raw.rangeStart)} not in network ${formatCIDR(subnet)}`);
    }
    rangeStart = raw.rangeStart;
  }
  let rangeEnd: IP;
  if (raw.rangeEnd) {
    if (!rangeContains({ ...withSubnet, rangeStart }, raw.rangeEnd)) {
      throw invalid(`RangeEnd ${formatIP(raw.rangeEnd)} not in network ${formatCIDR(subnet)}`);
    }
    rangeEnd = raw.rangeEnd;
  } else {
    rangeEnd = defaultRangeEnd(subnet);
    // The reference accepts a start past the default end (an IPv4 start on
    // the broadcast address) and then walks out of the subnet; weft refuses.
    if (compareIP(rangeStart, rangeEnd) > 0) {
      throw invalid(`RangeStart ${formatIP(rangeStart)} not in network ${formatCIDR(subnet)}`);
    }
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

/** Range.Overlaps: same family and either range holds the other's start or end. */
export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false;
  return (
    rangeContains(a, b.rangeStart) ||
    rangeContains(a, b.rangeEnd) ||
    rangeContains(b, a.rangeStart) ||
    rangeContains(b, a.rangeEnd)
  );
}

export const formatRange = (r: Range): string => `${formatIP(r.rangeStart)}-${formatIP(r.rangeEnd)}`;

export const formatRangeSet = (s: RangeSet): string => s.map(formatRange).join(',');

/** RangeSet.Canonicalize: canonical ranges of one family that do not overlap. */
export function canonicalizeRangeSet(raw: readonly RangeConfig[]): Range[] {
  if (raw.length === 0) throw invalid('empty range set');
  const set: Range[] = [];
  for (const r of raw) {
    const c = canonicalizeRange(r);
    if (set.length > 0 && set[0]!.rangeStart.family !== c.rangeStart.family) throw invalid('mixed address families');
    set.push(c);
  }
  for (let i = 0; i < set.length - 1; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i]!, set[j]!)) {
        throw invalid(`subnets ${formatRange(set[i]!)} and ${formatRange(set[j]!)} overlap`);
      }
    }
  }
  return set;
}

/** RangeSet.RangeFor: the range holding `ip`, or undefined. */
export const rangeFor = (set: RangeSet, ip: IP): Range | undefined => set.find((r) => rangeContains(r, ip));

export const rangeSetContains = (set: RangeSet, ip: IP): boolean => rangeFor(set, ip) !== undefined;

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((r) => b.some((r1) => rangesOverlap(r, r1)));
}

export const isGateway = (r: Range, ip: IP): boolean => r.gateway !== undefined && ipEqual(r.gateway, ip);
