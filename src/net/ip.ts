// IP addresses as (family, bigint), parsed and printed exactly like Go's net
// package: IPv4 octets without leading zeros, IPv4-mapped IPv6 treated as
// IPv4, IPv6 printed with the longest zero run compressed. Kept dependency
// free because every ADD parses addresses (ip-num costs ~17 ms to load).

export type Family = 4 | 6;

export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

export interface CIDR {
  /** The address as written, host bits kept (Go's types.IPNet). */
  readonly ip: IP;
  readonly prefix: number;
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIPv6(s: string): bigint | undefined {
  let head = s;
  let tailV4: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tailV4 = parseIPv4(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::')) return undefined;
  const groupsOf = (part: string): string[] | undefined => {
    if (part === '') return [];
    const g = part.split(':');
    return g.every((x) => /^[0-9a-fA-F]{1,4}$/.test(x)) ? g : undefined;
  };
  let groups: string[];
  if (dbl >= 0) {
    const left = groupsOf(head.slice(0, dbl));
    const right = groupsOf(head.slice(dbl + 2));
    if (!left || !right) return undefined;
    const fill = 8 - left.length - right.length;
    if (fill < 1) return undefined;
    groups = [...left, ...Array<string>(fill).fill('0'), ...right];
  } else {
    const g = groupsOf(head);
    if (!g || g.length !== 8) return undefined;
    groups = g;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

/** net.ParseIP: undefined when `s` is not an IP. IPv4-mapped IPv6 becomes IPv4. */
export function parseIP(s: string): IP | undefined {
  if (s.includes(':')) {
    const v = parseIPv6(s);
    if (v === undefined) return undefined;
    if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
    return { family: 6, value: v };
  }
  const v = parseIPv4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** net.ParseCIDR, keeping the host bits of the address (types.ParseCIDR). */
export function parseCIDR(s: string): CIDR | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(len)) return undefined;
  const prefix = Number(len);
  if (addr.includes(':')) {
    const v = parseIPv6(addr);
    if (v === undefined || prefix > 128) return undefined;
    // Go keeps a mapped address's 128-bit mask; weft only sees these in odd configs.
    if (v >> 32n === 0xffffn && prefix >= 96) return { ip: { family: 4, value: v & 0xffffffffn }, prefix: prefix - 96 };
    return { ip: { family: 6, value: v }, prefix };
  }
  const v = parseIPv4(addr);
  if (v === undefined || prefix > 32) return undefined;
  return { ip: { family: 4, value: v }, prefix };
}

function formatIPv6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.map((g) => g.toString(16)).join(':');
  const left = groups.slice(0, bestStart).map((g) => g.toString(16)).join(':');
  const right = groups.slice(bestStart + bestLen).map((g) => g.toString(16)).join(':');
  return `${left}::${right}`;
}

/** net.IP.String. */
export function formatIP(ip: IP): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return formatIPv6(ip.value);
}

export const formatCIDR = (c: CIDR): string => `${formatIP(c.ip)}/${c.prefix}`;

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The network address of a CIDR (host bits cleared). */
export const networkOf = (c: CIDR): CIDR => ({
  ip: { family: c.ip.family, value: c.ip.value & maskOf(c.ip.family, c.prefix) },
  prefix: c.prefix,
});

/** The last address of a CIDR (all host bits set). */
export function lastAddressOf(c: CIDR): IP {
  const host = (1n << BigInt(bitsOf(c.ip.family) - c.prefix)) - 1n;
  return { family: c.ip.family, value: (c.ip.value & maskOf(c.ip.family, c.prefix)) | host };
}

export function cidrContains(c: CIDR, ip: IP): boolean {
  if (c.ip.family !== ip.family) return false;
  const m = maskOf(c.ip.family, c.prefix);
  return (c.ip.value & m) === (ip.value & m);
}

export const ipEqual = (a: IP, b: IP): boolean => a.family === b.family && a.value === b.value;

export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** ip + n within the family; undefined on overflow. */
export function addToIP(ip: IP, n: bigint): IP | undefined {
  const v = ip.value + n;
  if (v < 0n || v >= 1n << BigInt(bitsOf(ip.family))) return undefined;
  return { family: ip.family, value: v };
}

