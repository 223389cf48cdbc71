import type { IP } from '../../net/ip.ts';
import { type Range, type RangeSet, rangeContains } from './range.ts';

// The reference's round-robin order (reference-plugins.md §2.5), computed
// without trying addresses one by one. Its iterator visits every address of
// the set once, cyclically, starting after the last reserved IP and skipping
// each range's gateway; that is the same as scanning these segments in order:
//   [p0 .. end of its range], every later range, wrapping, [start .. p0-1],
// and each segment can jump over a run of taken addresses in one step.

/** What the allocator needs to know about taken addresses. */
export interface TakenAddresses {
  /** If `value` is taken: the last value of the run of consecutive taken addresses starting at it. */
  takenRunEnd(family: 4 | 6, value: bigint): bigint | undefined;
}

export interface Candidate {
  ip: IP;
  range: Range;
}

interface Segment {
  range: Range;
  from: bigint;
  to: bigint;
}

/** Where the iterator starts: after the last reserved IP if the set holds it, else range 0's start. */
export function startPoint(set: RangeSet, lastReserved: IP | undefined): { rangeIdx: number; value: bigint } {
  if (lastReserved) {
    const idx = set.findIndex((r) => rangeContains(r, lastReserved));
    if (idx >= 0) {
      const r = set[idx]!;
      if (lastReserved.value === r.rangeEnd.value) {
        const next = (idx + 1) % set.length;
        return { rangeIdx: next, value: set[next]!.rangeStart.value };
      }
      return { rangeIdx: idx, value: lastReserved.value + 1n };
    }
  }
  return { rangeIdx: 0, value: set[0]!.rangeStart.value };
}

function segments(set: RangeSet, lastReserved: IP | undefined): Segment[] {
  const { rangeIdx, value } = startPoint(set, lastReserved);
  const first = set[rangeIdx]!;
  const out: Segment[] = [{ range: first, from: value, to: first.rangeEnd.value }];
  for (let k = 1; k < set.length; k++) {
    const r = set[(rangeIdx + k) % set.length]!;
    out.push({ range: r, from: r.rangeStart.value, to: r.rangeEnd.value });
  }
  if (value > first.rangeStart.value) out.push({ range: first, from: first.rangeStart.value, to: value - 1n });
  return out;
}

const gatewayValue = (r: Range): bigint | undefined => r.gateway?.value;

/** The first free candidate in the reference's order, or undefined when the set is exhausted. */
export function firstFree(set: RangeSet, lastReserved: IP | undefined, taken: TakenAddresses): Candidate | undefined {
  for (const s of segments(set, lastReserved)) {
    const family = s.range.rangeStart.family;
    const gw = gatewayValue(s.range);
    let v = s.from;
    while (v <= s.to) {
      if (v === gw) {
        v++;
        continue;
      }
      const runEnd = taken.takenRunEnd(family, v);
      if (runEnd === undefined) return { ip: { family, value: v }, range: s.range };
      v = runEnd + 1n;
    }
  }
  return undefined;
}

/** How many addresses of a range can be handed out (its gateway excluded). */
export function rangeCapacity(r: Range): bigint {
  const size = r.rangeEnd.value - r.rangeStart.value + 1n;
  const gw = gatewayValue(r);
  return gw !== undefined && gw >= r.rangeStart.value && gw <= r.rangeEnd.value ? size - 1n : size;
}
