import type { IP } from '../../net/ip.ts';
import type { TakenAddresses } from './allocator.ts';
import type { Range } from './range.ts';

// The in-memory lease index: for each family, the leased addresses in
// ascending order with a 32-bit hash of each lease file's content. Finding
// the next free address is a binary search plus a walk over a run of taken
// neighbours; finding an attachment's leases is a scan of the hash column.
// Answers are candidates only: callers confirm them against the lease file.

/** Identifies one state of the network folder; any change to the folder changes it. */
export interface DirStamp {
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export const sameStamp = (a: DirStamp, b: DirStamp): boolean =>
  a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/** FNV-1a over the UTF-16 code units of a lease file's trimmed content. */
export function ownerHash(content: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < content.length; i++) h = Math.imul(h ^ content.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Sorted keys of `width` 32-bit words each (most significant first), with one hash per key. */
export class KeyTable {
  private readonly probe: Uint32Array;

  constructor(
    readonly width: 1 | 4,
    public keys: Uint32Array,
    public hashes: Uint32Array,
    public length: number,
  ) {
    this.probe = new Uint32Array(width);
  }

  static empty(width: 1 | 4): KeyTable {
    return new KeyTable(width, new Uint32Array(0), new Uint32Array(0), 0);
  }

  /** Build from unsorted (value, hash) pairs; a repeated value keeps its last hash. */
  static build(width: 1 | 4, entries: readonly { value: bigint; hash: number }[]): KeyTable {
    const sorted = [...entries].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    const t = new KeyTable(width, new Uint32Array(sorted.length * width), new Uint32Array(sorted.length), 0);
    for (const e of sorted) {
      if (t.length > 0 && t.keyAt(t.length - 1) === e.value) {
        t.hashes[t.length - 1] = e.hash;
        continue;
      }
      t.writeKey(t.length, e.value);
      t.hashes[t.length] = e.hash;
      t.length++;
    }
    return t;
  }

  private writeKey(i: number, v: bigint, into: Uint32Array = this.keys): void {
    if (this.width === 1) {
      into[i] = Number(v);
      return;
    }
    for (let k = 3; k >= 0; k--) {
      into[i * 4 + k] = Number(v & 0xffffffffn);
      v >>= 32n;
    }
  }

  keyAt(i: number): bigint {
    if (this.width === 1) return BigInt(this.keys[i]!);
    let v = 0n;
    for (let k = 0; k < 4; k++) v = (v << 32n) | BigInt(this.keys[i * 4 + k]!);
    return v;
  }

  private compareAt(i: number, probe: Uint32Array): number {
    for (let k = 0; k < this.width; k++) {
      const a = this.keys[i * this.width + k]!;
      const b = probe[k]!;
      if (a !== b) return a < b ? -1 : 1;
    }
    return 0;
  }

  /** The first position whose key is >= v. */
  lowerBound(v: bigint): number {
    this.writeKey(0, v, this.probe);
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareAt(mid, this.probe) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  indexOf(v: bigint): number {
    const i = this.lowerBound(v);
    return i < this.length && this.compareAt(i, this.probe) === 0 ? i : -1;
  }

  /** Is the key at i+1 exactly one more than the key at i? */
  private isSuccessor(i: number): boolean {
    if (this.width === 1) return this.keys[i + 1] === this.keys[i]! + 1;
    const a = i * 4;
    const b = a + 4;
    let carry = 1;
    for (let k = 3; k >= 0; k--) {
      const sum = this.keys[a + k]! + carry;
      const word = sum >>> 0;
      carry = sum > 0xffffffff ? 1 : 0;
      if (this.keys[b + k] !== word) return false;
    }
    return carry === 0;
  }

  runEnd(v: bigint): bigint | undefined {
    let i = this.indexOf(v);
    if (i < 0) return undefined;
    while (i + 1 < this.length && this.isSuccessor(i)) i++;
    return this.keyAt(i);
  }

  /** How many keys lie in [from, to]. */
  countIn(from: bigint, to: bigint): number {
    const a = this.lowerBound(from);
    const b = this.lowerBound(to + 1n);
    return b - a;
  }

  set(v: bigint, hash: number): void {
    const i = this.lowerBound(v);
    if (i < this.length && this.compareAt(i, this.probe) === 0) {
      this.hashes[i] = hash;
      return;
    }
    const w = this.width;
    if (this.length === this.hashes.length || this.keys.buffer.byteLength === 0) {
      const cap = Math.max(16, this.length * 2);
      const keys = new Uint32Array(cap * w);
      const hashes = new Uint32Array(cap);
      keys.set(this.keys.subarray(0, this.length * w));
      hashes.set(this.hashes.subarray(0, this.length));
      this.keys = keys;
      this.hashes = hashes;
    }
    this.keys.copyWithin((i + 1) * w, i * w, this.length * w);
    this.hashes.copyWithin(i + 1, i, this.length);
    this.writeKey(i, v);
    this.hashes[i] = hash;
    this.length++;
  }

  delete(v: bigint): boolean {
    const i = this.indexOf(v);
    if (i < 0) return false;
    const w = this.width;
    this.keys.copyWithin(i * w, (i + 1) * w, this.length * w);
    this.hashes.copyWithin(i, i + 1, this.length);
    this.length--;
    return true;
  }

  /** Positions whose hash is one of `wanted` (a native byte search, not a loop in JS). */
  withHash(wanted: readonly number[]): number[] {
    const bytes = Buffer.from(this.hashes.buffer, this.hashes.byteOffset, this.length * 4);
    const out = new Set<number>();
    for (const w of wanted) {
      const pattern = new Uint8Array(Uint32Array.of(w >>> 0).buffer);
      for (let at = bytes.indexOf(pattern); at >= 0; at = bytes.indexOf(pattern, at + 1)) {
        if (at % 4 === 0) out.add(at / 4);
      }
    }
    return [...out].sort((a, b) => a - b);
  }
}

export class LeaseIndex implements TakenAddresses {
  /** Which slot file this was read from or last written to (-1: neither). */
  slot = -1;
  generation = 0;

  constructor(
    public v4: KeyTable,
    public v6: KeyTable,
    public stamp: DirStamp,
  ) {}

  static empty(stamp: DirStamp): LeaseIndex {
    return new LeaseIndex(KeyTable.empty(1), KeyTable.empty(4), stamp);
  }

  static build(entries: readonly { ip: IP; hash: number }[], stamp: DirStamp): LeaseIndex {
    const v4 = entries.filter((e) => e.ip.family === 4).map((e) => ({ value: e.ip.value, hash: e.hash }));
    const v6 = entries.filter((e) => e.ip.family === 6).map((e) => ({ value: e.ip.value, hash: e.hash }));
    return new LeaseIndex(KeyTable.build(1, v4), KeyTable.build(4, v6), stamp);
  }

  private table(family: 4 | 6): KeyTable {
    return family === 4 ? this.v4 : this.v6;
  }

  has(ip: IP): boolean {
    return this.table(ip.family).indexOf(ip.value) >= 0;
  }

  hashOf(ip: IP): number | undefined {
    const t = this.table(ip.family);
    const i = t.indexOf(ip.value);
    return i < 0 ? undefined : t.hashes[i];
  }

  set(ip: IP, hash: number): void {
    this.table(ip.family).set(ip.value, hash);
  }

  delete(ip: IP): boolean {
    return this.table(ip.family).delete(ip.value);
  }

  takenRunEnd(family: 4 | 6, value: bigint): bigint | undefined {
    return this.table(family).runEnd(value);
  }

  /** Leased addresses among those a range hands out (a lease on its gateway, made by hand, does not count). */
  leasedIn(r: Range): number {
    const n = this.table(r.rangeStart.family).countIn(r.rangeStart.value, r.rangeEnd.value);
    const gw = r.gateway;
    const gwInside = gw !== undefined && gw.value >= r.rangeStart.value && gw.value <= r.rangeEnd.value;
    return gwInside && this.has(gw) ? n - 1 : n;
  }

  /** The addresses whose owner hash is one of `hashes`: candidates to confirm on disk. */
  withOwnerHash(hashes: readonly number[]): IP[] {
    const out: IP[] = [];
    for (const [family, t] of [
      [4, this.v4],
      [6, this.v6],
    ] as const) {
      for (const i of t.withHash(hashes)) out.push({ family, value: t.keyAt(i) });
    }
    return out;
  }

  *entries(): Generator<{ ip: IP; hash: number }> {
    for (const [family, t] of [
      [4, this.v4],
      [6, this.v6],
    ] as const) {
      for (let i = 0; i < t.length; i++) yield { ip: { family, value: t.keyAt(i) }, hash: t.hashes[i]! };
    }
  }
}
