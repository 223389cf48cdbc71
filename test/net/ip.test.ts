import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';
import {
  addToIP,
  cidrContains,
  formatCIDR,
  formatIP,
  lastAddressOf,
  networkOf,
  parseCIDR,
  parseIP,
} from '../../src/net/ip.ts';

describe('parseIP / formatIP follow Go net', () => {
  const roundTrips: [string, string][] = [
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['::10.1.2.3', '::a01:203'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
  ];
  for (const [input, output] of roundTrips) {
    it(`${input} -> ${output}`, () => expect(formatIP(parseIP(input)!)).toBe(output));
  }

  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-1', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::1%eth0', 'x', '1.2.3.4/24']) {
    it(`rejects ${JSON.stringify(bad)}`, () => expect(parseIP(bad)).toBeUndefined());
  }

  it('treats IPv4-mapped IPv6 as IPv4', () => expect(parseIP('::ffff:1.2.3.4')?.family).toBe(4));
});

describe('agrees with ip-num on address values', () => {
  const v4 = ['10.0.0.1', '192.168.255.254', '1.2.3.4', '0.0.0.0'];
  const v6 = ['2001:db8::1', 'fe80::1:2:3:4', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8:85a3::8a2e:370:7334'];
  for (const s of v4) it(s, () => expect(parseIP(s)!.value).toBe(IPv4.fromString(s).getValue()));
  for (const s of v6) it(s, () => expect(parseIP(s)!.value).toBe(IPv6.fromString(s).getValue()));
});

describe('CIDRs', () => {
  it('keep host bits', () => expect(formatCIDR(parseCIDR('10.1.2.5/24')!)).toBe('10.1.2.5/24'));
  it('compute network and last address', () => {
    const c = parseCIDR('192.168.127.9/23')!;
    expect(formatCIDR(networkOf(c))).toBe('192.168.126.0/23');
    expect(formatIP(lastAddressOf(c))).toBe('192.168.127.255');
    expect(formatCIDR(networkOf(parseCIDR('2001:DB8:24:19ff::/63')!))).toBe('2001:db8:24:19fe::/63');
  });
  it('test containment per family', () => {
    const c = parseCIDR('10.0.0.0/8')!;
    expect(cidrContains(c, parseIP('10.255.0.1')!)).toBe(true);
    expect(cidrContains(c, parseIP('11.0.0.1')!)).toBe(false);
    expect(cidrContains(parseCIDR('::/0')!, parseIP('10.0.0.1')!)).toBe(false);
  });
  for (const bad of ['1.2.3.4/33', '1.2.3.4/99', '1.2.3/45', '::/129', '1.2.3.4', '1.2.3.4/x', '1.2.3.4/']) {
    it(`rejects ${bad}`, () => expect(parseCIDR(bad)).toBeUndefined());
  }
  it('step and overflow', () => {
    expect(formatIP(addToIP(parseIP('10.0.0.255')!, 1n)!)).toBe('10.0.1.0');
    expect(addToIP(parseIP('255.255.255.255')!, 1n)).toBeUndefined();
    expect(addToIP(parseIP('0.0.0.0')!, -1n)).toBeUndefined();
  });
});
