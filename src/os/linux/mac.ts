import { randomBytes } from './random.ts';

// MAC addresses: parsed like Go's net.ParseMAC (6-byte forms), and chosen by
// weft for new veth ends and bridges, so results need no read-back.

/** Lowercase colon form, or undefined when `s` is not a 6-byte MAC. */
export function parseMac(s: string): string | undefined {
  let hex: string | undefined;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(s)) hex = s.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(s)) hex = s.replace(/\./g, '');
  return hex?.toLowerCase().match(/../g)!.join(':');
}

/** A random unicast, locally administered MAC (what the kernel picks for a veth). */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** `veth` + 8 hex digits: NetworkManager leaves such links alone. */
export const randomVethName = (): string => `veth${randomBytes(4).toString('hex')}`;
