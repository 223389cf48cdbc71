import fc from 'fast-check';
import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { type IP, formatIP, parseCIDR, parseIP } from '../../../src/net/ip.ts';
import { rangeCapacity } from '../../../src/ipam/host-local/allocator.ts';
import {
  type Range,
  type RangeConfig,
  canonicalizeRange,
  canonicalizeRangeSet,
  formatRangeSet,
  rangeContains,
  rangeFor,
  rangeSetsOverlap,
  rangesOverlap,
} from '../../../src/ipam/host-local/range.ts';

// reference-plugins.md §5.3, range_test.go and range_set_test.go (cases 28, 29, 32-40).

const ip = (s: string): IP => parseIP(s)!;
const raw = (subnet: string, extra: { start?: string; end?: string; gw?: string } = {}): RangeConfig => ({
  subnet: parseCIDR(subnet)!,
  ...(extra.start ? { rangeStart: ip(extra.start) } : {}),
  ...(extra.end ? { rangeEnd: ip(extra.end) } : {}),
  ...(extra.gw ? { gateway: ip(extra.gw) } : {}),
});
const shown = (r: Range) => ({
  start: formatIP(r.rangeStart),
  end: formatIP(r.rangeEnd),
  gw: r.gateway && formatIP(r.gateway),
});
const failure = (f: () => unknown): CniError => {
  try {
    f();
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected an error');
};

describe('range defaults (case 32)', () => {
  it('a /24 hands out .1 to .254 with the gateway on .1', () =>
    expect(shown(canonicalizeRange(raw('192.0.2.0/24')))).toEqual({ start: '192.0.2.1', end: '192.0.2.254', gw: '192.0.2.1' }));

  it('a /25 ends on .126', () =>
    expect(shown(canonicalizeRange(raw('192.0.2.0/25')))).toEqual({ start: '192.0.2.1', end: '192.0.2.126', gw: '192.0.2.1' }));

  // Go prints a single zero group uncompressed: 2001:db8:1:0:ffff:ffff:ffff:ffff.
  it('an IPv6 /64 ends on the all-ones address', () =>
    expect(shown(canonicalizeRange(raw('2001:DB8:1::/64')))).toEqual({
      start: '2001:db8:1::1',
      end: '2001:db8:1:0:ffff:ffff:ffff:ffff',
      gw: '2001:db8:1::1',
    }));

  it('keeps start, end and a gateway outside them as given (case 36)', () =>
    expect(shown(canonicalizeRange(raw('192.0.2.0/24', { start: '192.0.2.40', end: '192.0.2.50', gw: '192.0.2.254' })))).toEqual({
      start: '192.0.2.40',
      end: '192.0.2.50',
      gw: '192.0.2.254',
    }));
});

describe('range validation messages', () => {
  it.each([
    ['192.0.2.12/24', 'Network has host bits set. For a subnet mask of length 24 the network address is 192.0.2.0'],
    ['2001:DB8:1::24:19ff:fee1:c44a/64', 'Network has host bits set. For a subnet mask of length 64 the network address is 2001:db8:1::'],
    ['2001:DB8:24:19ff::/63', 'Network has host bits set. For a subnet mask of length 63 the network address is 2001:db8:24:19fe::'],
    ['192.168.127.0/23', 'Network has host bits set. For a subnet mask of length 23 the network address is 192.168.126.0'],
  ])('rejects host bits in %s (case 33)', (subnet, msg) => {
    const err = failure(() => canonicalizeRange(raw(subnet)));
    expect(err.msg).toBe(msg);
    expect(err.code).toBe(7);
  });

  it('rejects a /31 and a /32 and an IPv6 /127 (case 34)', () => {
    expect(failure(() => canonicalizeRange(raw('192.0.2.0/31'))).msg).toBe('Network 192.0.2.0/31 too small to allocate from');
    expect(failure(() => canonicalizeRange(raw('192.0.2.0/32'))).msg).toBe('Network 192.0.2.0/32 too small to allocate from');
    expect(failure(() => canonicalizeRange(raw('2001:db8::/127'))).msg).toBe('Network 2001:db8::/127 too small to allocate from');
  });

  it('accepts a /30, which has one address to hand out', () =>
    expect(shown(canonicalizeRange(raw('10.0.0.0/30')))).toEqual({ start: '10.0.0.1', end: '10.0.0.2', gw: '10.0.0.1' }));

  it('names a start or end outside the subnet, and a start after the end as the start (case 35)', () => {
    expect(failure(() => canonicalizeRange(raw('192.0.2.0/24', { start: '192.0.3.0' }))).msg).toBe(
      'RangeStart 192.0.3.0 not in network 192.0.2.0/24',
    );
    expect(failure(() => canonicalizeRange(raw('192.0.2.0/24', { end: '192.0.4.0' }))).msg).toBe(
      'RangeEnd 192.0.4.0 not in network 192.0.2.0/24',
    );
    expect(failure(() => canonicalizeRange(raw('192.0.2.0/24', { start: '192.0.2.50', end: '192.0.2.40' }))).msg).toBe(
      'RangeStart 192.0.2.50 not in network 192.0.2.0/24',
    );
  });

  it('refuses a start on the IPv4 broadcast address, which the reference would walk past', () =>
    expect(failure(() => canonicalizeRange(raw('192.0.2.0/24', { start: '192.0.2.255' }))).msg).toBe(
      'RangeStart 192.0.2.255 not in network 192.0.2.0/24',
    ));

  it('reports a range without a subnet like Go prints a nil IP', () =>
    expect(failure(() => canonicalizeRange({})).msg).toBe('IP <nil> not v4 nor v6'));

  it('reports an IPv4-mapped IPv6 subnet as a version mismatch', () =>
    expect(failure(() => canonicalizeRange({ ...raw('::ffff:10.0.0.0/120'), subnetIsMapped: true })).msg).toBe(
      'IPNet IP and Mask version mismatch',
    ));
});

describe('containment (case 37)', () => {
  const r4 = canonicalizeRange(raw('192.0.2.0/24', { start: '192.0.2.40', end: '192.0.2.50' }));
  const r6 = canonicalizeRange(raw('2001:db8:1::/64', { start: '2001:db8:1::40', end: '2001:db8:1::50' }));
  it.each([
    ['192.0.2.39', false],
    ['192.0.2.40', true],
    ['192.0.2.50', true],
    ['192.0.2.51', false],
    ['192.0.3.0', false],
    ['2001:db8:1::40', false],
  ])('IPv4 range .40-.50 holds %s: %s', (a, expected) => expect(rangeContains(r4, ip(a))).toBe(expected));
  it.each([
    ['2001:db8:1::39', false],
    ['2001:db8:1::40', true],
    ['2001:db8:1::50', true],
    ['2001:db8:1::51', false],
    ['192.0.2.40', false],
  ])('IPv6 range ::40-::50 holds %s: %s', (a, expected) => expect(rangeContains(r6, ip(a))).toBe(expected));
});

describe('overlap (case 38), checked both ways', () => {
  const c = (subnet: string, extra: { start?: string; end?: string } = {}) => canonicalizeRange(raw(subnet, extra));
  it.each([
    ['10.0.0.0/24', '10.0.1.0/24', false],
    ['0.0.0.0/24', '::/24', false],
    ['10.0.0.0/24', '10.0.0.0/24', true],
    ['10.0.0.0/20', '10.0.1.0/24', true],
  ])('%s and %s overlap: %s', (a, b, expected) => {
    expect(rangesOverlap(c(a), c(b))).toBe(expected);
    expect(rangesOverlap(c(b), c(a))).toBe(expected);
  });
  it('two halves of a /24 do not overlap, sharing .127 does', () => {
    const low = c('10.0.0.0/24', { end: '10.0.0.127' });
    expect(rangesOverlap(low, c('10.0.0.0/24', { start: '10.0.0.128' }))).toBe(false);
    expect(rangesOverlap(c('10.0.0.0/24', { start: '10.0.0.128' }), low)).toBe(false);
    expect(rangesOverlap(low, c('10.0.0.0/24', { start: '10.0.0.127' }))).toBe(true);
    expect(rangesOverlap(c('10.0.0.0/24', { start: '10.0.0.127' }), low)).toBe(true);
  });
});

describe('range sets', () => {
  it('finds the range holding an address, and names the set when none does (case 39)', () => {
    const set = canonicalizeRangeSet([raw('192.168.0.0/24'), raw('172.16.1.0/24')]);
    expect(rangeFor(set, ip('192.168.0.55'))).toBe(set[0]);
    expect(rangeFor(set, ip('192.168.99.99'))).toBeUndefined();
    // The reference's message is "<ip> not in range set <set>"; weft never needs it (see add.ts).
    expect(formatRangeSet(set)).toBe('192.168.0.1-192.168.0.254,172.16.1.1-172.16.1.254');
  });

  it('rejects overlapping ranges in one set and reports overlapping sets (cases 28, 40)', () => {
    expect(failure(() => canonicalizeRangeSet([raw('10.1.0.0/22'), raw('10.1.2.0/24')])).msg).toBe(
      'subnets 10.1.0.1-10.1.3.254 and 10.1.2.1-10.1.2.254 overlap',
    );
    expect(failure(() => canonicalizeRangeSet([raw('192.168.0.0/20'), raw('192.168.2.0/24')])).msg).toBe(
      'subnets 192.168.0.1-192.168.15.254 and 192.168.2.1-192.168.2.254 overlap',
    );
    const a = canonicalizeRangeSet([raw('192.168.0.0/20')]);
    const b = canonicalizeRangeSet([raw('192.168.2.0/24')]);
    expect(rangeSetsOverlap(a, b)).toBe(true);
    expect(rangeSetsOverlap(b, a)).toBe(true);
  });

  it('rejects mixed families and an empty set (case 29)', () => {
    expect(failure(() => canonicalizeRangeSet([raw('10.1.0.0/22'), raw('2001:db8:5::/64')])).msg).toBe('mixed address families');
    expect(failure(() => canonicalizeRangeSet([])).msg).toBe('empty range set');
  });

  it('prints a set as its ranges joined by commas', () =>
    expect(formatRangeSet(canonicalizeRangeSet([raw('10.0.0.0/29'), raw('10.0.1.0/30')]))).toBe('10.0.0.1-10.0.0.6,10.0.1.1-10.0.1.2'));
});

describe('range arithmetic against ip-num as an oracle', () => {
  it('gives the defaults and capacity ip-num computes, for random IPv4 and IPv6 subnets', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 126 }), (v6, value, p) => {
        const prefix = v6 ? p : p % 31;
        const bits = v6 ? 128n : 32n;
        const network = (v6 ? value : value & 0xffffffffn) & (((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n));
        const text = `${formatIP({ family: v6 ? 6 : 4, value: network })}/${prefix}`;
        const oracle = v6 ? IPv6CidrRange.fromCidr(text) : IPv4CidrRange.fromCidr(text);
        const r = canonicalizeRange(raw(text));
        expect(r.rangeStart.value).toBe(oracle.getFirst().getValue() + 1n);
        expect(r.rangeEnd.value).toBe(oracle.getLast().getValue() - (v6 ? 0n : 1n));
        expect(rangeCapacity(r)).toBe(oracle.getSize() - (v6 ? 2n : 3n));
        expect(rangeContains(r, { family: v6 ? 6 : 4, value: oracle.getLast().getValue() })).toBe(v6);
      }),
      { numRuns: 300 },
    );
  });
});
