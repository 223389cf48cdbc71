import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IP, formatIP, parseCIDR, parseIP } from '../../../src/net/ip.ts';
import { type TakenAddresses, firstFree, rangeCapacity, startPoint } from '../../../src/ipam/host-local/allocator.ts';
import { KeyTable } from '../../../src/ipam/host-local/lease-index.ts';
import { type Range, type RangeSet, canonicalizeRangeSet } from '../../../src/ipam/host-local/range.ts';

// reference-plugins.md §5.2 allocator_test.go (cases 12-21), with the fake
// store replaced by a set of taken addresses.

const ip = (s: string): IP => parseIP(s)!;
const set = (...subnets: string[]): RangeSet => canonicalizeRangeSet(subnets.map((s) => ({ subnet: parseCIDR(s)! })));

/** The fake store: a set of taken addresses, with runs found one address at a time. */
function takenSet(addresses: readonly string[]): TakenAddresses & { add(a: IP): void } {
  const s = new Set(addresses.map((a) => `${ip(a).family}:${ip(a).value}`));
  return {
    add: (a) => s.add(`${a.family}:${a.value}`),
    takenRunEnd(family, value) {
      if (!s.has(`${family}:${value}`)) return undefined;
      let v = value;
      while (s.has(`${family}:${v + 1n}`)) v++;
      return v;
    },
  };
}

/**
 * The reference's RangeIter (allocator.go GetIter and Next), step by step, as
 * the oracle: it shares nothing with the allocator but the canonical ranges.
 * One round visits every address once: Go's own iterator never ends on an
 * exhausted multi-range set that started after a range's end, this one stops.
 */
function referenceIter(rs: RangeSet, last: IP | undefined): Array<{ value: bigint; range: Range }> {
  const out: Array<{ value: bigint; range: Range }> = [];
  const fromLast = last !== undefined && rs.some((r) => last.value >= r.rangeStart.value && last.value <= r.rangeEnd.value);
  let idx = fromLast ? rs.findIndex((r) => last!.value >= r.rangeStart.value && last!.value <= r.rangeEnd.value) : 0;
  const startRange = idx;
  let cur: bigint | undefined = fromLast ? last!.value : undefined;
  let startIP: bigint | undefined = fromLast ? undefined : rs[0]!.rangeStart.value;
  const total = rs.reduce((n, r) => n + Number(r.rangeEnd.value - r.rangeStart.value + 1n), 0);
  for (let steps = 0; steps < total; steps++) {
    let r = rs[idx]!;
    if (cur === undefined) {
      cur = r.rangeStart.value;
      startIP = cur;
    } else {
      if (cur === r.rangeEnd.value) {
        idx = (idx + 1) % rs.length;
        r = rs[idx]!;
        cur = r.rangeStart.value;
      } else {
        cur++;
      }
      if (startIP === undefined) startIP = cur;
      else if (idx === startRange && cur === startIP) break;
    }
    if (cur !== r.gateway?.value) out.push({ value: cur, range: r });
  }
  return out;
}

const order = (rs: RangeSet, last?: string) => referenceIter(rs, last ? ip(last) : undefined).map((c) => formatIP({ family: rs[0]!.rangeStart.family, value: c.value }));
const first = (rs: RangeSet, taken: string[], last?: string) => {
  const c = firstFree(rs, last ? ip(last) : undefined, takenSet(taken));
  return c && formatIP(c.ip);
};

describe('the round-robin order', () => {
  const p29 = set('192.168.1.0/29');

  it('runs .2 to .6 on a fresh /29, then stops (case 12)', () =>
    expect(order(p29)).toEqual(['192.168.1.2', '192.168.1.3', '192.168.1.4', '192.168.1.5', '192.168.1.6']));

  it('starts over after the last address (case 13)', () =>
    expect(order(p29, '192.168.1.6')).toEqual(['192.168.1.2', '192.168.1.3', '192.168.1.4', '192.168.1.5', '192.168.1.6']));

  it('continues after a last reserved IP in the middle and tries it last (case 14)', () =>
    expect(order(p29, '192.168.1.3')).toEqual(['192.168.1.4', '192.168.1.5', '192.168.1.6', '192.168.1.2', '192.168.1.3']));

  it('starts at the next range after the end of the first, even unnormalised (case 21)', () => {
    const rs: Range[] = [
      { subnet: parseCIDR('192.168.1.1/30')!, rangeStart: ip('192.168.1.0'), rangeEnd: ip('192.168.1.3') },
      { subnet: parseCIDR('192.168.2.1/30')!, rangeStart: ip('192.168.2.0'), rangeEnd: ip('192.168.2.3') },
    ];
    expect(startPoint(rs, ip('192.168.1.3'))).toEqual({ rangeIdx: 1, value: ip('192.168.2.0').value });
    expect(startPoint(rs, undefined)).toEqual({ rangeIdx: 0, value: ip('192.168.1.0').value });
  });
});

describe('the first free address (case 15)', () => {
  it.each([
    [['10.0.0.0/29'], [], undefined, '10.0.0.2'],
    [['2001:db8:1::/64'], [], undefined, '2001:db8:1::2'],
    [['10.0.0.0/30'], [], undefined, '10.0.0.2'],
    [['10.0.0.0/29'], ['10.0.0.2'], undefined, '10.0.0.3'],
    [['10.0.0.0/29'], [], '10.0.0.5', '10.0.0.6'],
    [['10.0.0.0/29'], ['10.0.0.4', '10.0.0.5'], '10.0.0.3', '10.0.0.6'],
    [['10.0.0.0/29'], ['10.0.0.6'], '10.0.0.5', '10.0.0.2'],
    [['10.0.0.0/29'], ['10.0.0.2'], '10.0.0.128', '10.0.0.3'],
    [['10.0.0.0/29'], ['10.0.0.2', '10.0.0.4', '10.0.0.5', '10.0.0.6'], '10.0.0.3', '10.0.0.3'],
    [['10.0.0.0/30', '10.0.1.0/30'], [], undefined, '10.0.0.2'],
    [['10.0.0.0/30', '10.0.1.0/30'], [], '10.0.0.2', '10.0.1.2'],
    [['10.0.0.0/30', '10.0.1.0/30', '10.0.2.0/30'], [], '10.0.2.2', '10.0.0.2'],
  ])('%j taken %j last %s gives %s', (subnets, taken, last, expected) => expect(first(set(...subnets), taken, last)).toBe(expected));
});

describe('allocation', () => {
  it('hands out .2 to .6 of a /29 in order and never the broadcast (case 16)', () => {
    const rs = set('192.168.1.0/29');
    const taken = takenSet([]);
    let last: IP | undefined;
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = firstFree(rs, last, taken)!;
      taken.add(c.ip);
      last = c.ip;
      got.push(`${formatIP(c.ip)}/${c.range.subnet.prefix}`);
    }
    expect(got).toEqual(['192.168.1.2/29', '192.168.1.3/29', '192.168.1.4/29', '192.168.1.5/29', '192.168.1.6/29']);
    expect(firstFree(rs, last, taken)).toBeUndefined();
  });

  it('does not reuse a released address at once (case 17)', () => {
    const rs = set('192.168.1.0/29');
    const a = firstFree(rs, undefined, takenSet([]))!;
    expect(formatIP(a.ip)).toBe('192.168.1.2');
    expect(formatIP(firstFree(rs, a.ip, takenSet([]))!.ip)).toBe('192.168.1.3');
  });

  it('finds nothing in exhausted sets (case 20)', () => {
    expect(first(set('10.0.0.0/30'), ['10.0.0.2'])).toBeUndefined();
    expect(first(set('10.0.0.0/29'), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'])).toBeUndefined();
    expect(first(set('10.0.0.0/30', '10.0.1.0/30'), ['10.0.0.2', '10.0.1.2'])).toBeUndefined();
  });

  it('counts what a range can hand out without its gateway', () => {
    expect(rangeCapacity(set('10.0.0.0/16')[0]!)).toBe(65533n);
    expect(rangeCapacity(set('10.0.0.0/29')[0]!)).toBe(5n);
  });
});

describe('jumping over taken runs gives the reference iterator order', () => {
  // Random small sets of ranges, taken addresses and a last reserved IP: the
  // fast search must pick what the one-by-one iterator picks.
  const arb = fc.record({
    ranges: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }),
    prefix: fc.integer({ min: 27, max: 30 }),
    taken: fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }),
    // Nearly full sets too: everything taken but these (the last free address can be anywhere).
    dense: fc.boolean(),
    free: fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 2 }),
    last: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    v6: fc.boolean(),
  });
  it('for IPv4 and IPv6, with the index as the taken set', () => {
    fc.assert(
      fc.property(arb, ({ ranges, prefix, taken, dense, free, last, v6 }) => {
        const subnets = ranges.map((r) => (v6 ? `2001:db8:${r}::/${prefix + 96}` : `10.0.${r}.0/${prefix}`));
        const rs = set(...subnets);
        const family = rs[0]!.rangeStart.family;
        const all = referenceIter(rs, undefined).map((c) => ({ family, value: c.value }));
        const pick = (i: number) => all[i % all.length]!;
        const freeIPs = new Set(free.map((i) => pick(i).value));
        const takenIPs = dense ? all.filter((a) => !freeIPs.has(a.value)) : taken.map(pick);
        const lastIP = last === undefined ? undefined : pick(last);
        const table = KeyTable.build(
          v6 ? 4 : 1,
          takenIPs.map((t) => ({ value: t.value, hash: 0 })),
        );
        const viaIndex = firstFree(rs, lastIP, { takenRunEnd: (_f, v) => table.runEnd(v) });
        const takenKeys = new Set(takenIPs.map((t) => t.value));
        const reference = referenceIter(rs, lastIP).find((c) => !takenKeys.has(c.value));
        expect(viaIndex?.ip.value).toBe(reference?.value);
        expect(viaIndex?.range).toBe(reference?.range);
      }),
      { numRuns: 500 },
    );
  });
});
