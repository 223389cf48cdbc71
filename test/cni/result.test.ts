import { describe, expect, it } from 'vitest';
import { convertResult } from '../../src/cni/result/convert.ts';
import { encodeResult, printResult } from '../../src/cni/result/encode.ts';
import { createResult } from '../../src/cni/result/parse.ts';
import type { Result100 } from '../../src/cni/result/types.ts';

// pkg/types/{020,040,100}/types_test.go vectors (cni-spec.md §4.5).

const canonical: Result100 = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'eth0', mac: '00:11:22:33:44:55', mtu: 1500, sandbox: '/proc/3553/ns/net', pciID: '8086:9a01', socketPath: '/path/to/vhost/fd' },
  ],
  ips: [
    { interface: 0, address: '1.2.3.30/24', gateway: '1.2.3.1' },
    { interface: 0, address: 'abcd:1234:ffff::cdde/64', gateway: 'abcd:1234:ffff::1' },
  ],
  routes: [
    { dst: '15.5.6.0/24', gw: '15.5.6.8' },
    { dst: '1111:dddd::/80', gw: '1111:dddd::aaaa' },
  ],
  dns: { nameservers: ['1.2.3.4', '1::cafe'], domain: 'acompany.com', search: ['somedomain.com', 'otherdomain.net'], options: ['foo', 'bar'] },
};

const dnsJson = {
  nameservers: ['1.2.3.4', '1::cafe'],
  domain: 'acompany.com',
  search: ['somedomain.com', 'otherdomain.net'],
  options: ['foo', 'bar'],
};

describe('1.1.0 output', () => {
  it('prints every field with keys sorted and no ip version', () => {
    const out = encodeResult(canonical);
    expect(JSON.parse(out)).toEqual({
      cniVersion: '1.1.0',
      dns: { domain: 'acompany.com', nameservers: ['1.2.3.4', '1::cafe'], options: ['foo', 'bar'], search: ['somedomain.com', 'otherdomain.net'] },
      interfaces: [{ mac: '00:11:22:33:44:55', mtu: 1500, name: 'eth0', pciID: '8086:9a01', sandbox: '/proc/3553/ns/net', socketPath: '/path/to/vhost/fd' }],
      ips: [
        { address: '1.2.3.30/24', gateway: '1.2.3.1', interface: 0 },
        { address: 'abcd:1234:ffff::cdde/64', gateway: 'abcd:1234:ffff::1', interface: 0 },
      ],
      routes: [
        { dst: '15.5.6.0/24', gw: '15.5.6.8' },
        { dst: '1111:dddd::/80', gw: '1111:dddd::aaaa' },
      ],
    });
    expect(out.indexOf('"cniVersion"')).toBeLessThan(out.indexOf('"dns"'));
    expect(out.indexOf('"dns"')).toBeLessThan(out.indexOf('"interfaces"'));
    expect(out.endsWith('}')).toBe(true);
  });

  it('omits an empty dns', () => {
    expect(encodeResult({ cniVersion: '1.0.0', ips: [{ address: '10.1.2.3/24' }] })).not.toContain('dns');
  });

  it('keeps interface index 0 and omits an absent index', () => {
    const r = createResult('1.1.0', '{"cniVersion":"1.1.0","ips":[{"interface":0,"address":"10.1.2.3/24"},{"address":"10.1.2.4/24"}]}');
    expect(JSON.parse(encodeResult(r)).ips).toEqual([{ address: '10.1.2.3/24', interface: 0 }, { address: '10.1.2.4/24' }]);
  });

  it('round-trips a route with every field', () => {
    const route = { dst: '1.2.3.0/24', gw: '1.2.3.1', mtu: 1500, advmss: 1340, priority: 100, table: 50, scope: 253 };
    const r = createResult('1.1.0', JSON.stringify({ cniVersion: '1.1.0', routes: [route] }));
    expect(JSON.parse(encodeResult(r)).routes).toEqual([route]);
  });
});

describe('converted to 0.4.0', () => {
  it('drops mtu, pciID and socketPath and adds ip versions', () => {
    const out = JSON.parse(printResult(canonical, '0.4.0'));
    expect(out).toEqual({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', mac: '00:11:22:33:44:55', sandbox: '/proc/3553/ns/net' }],
      ips: [
        { version: '4', interface: 0, address: '1.2.3.30/24', gateway: '1.2.3.1' },
        { version: '6', interface: 0, address: 'abcd:1234:ffff::cdde/64', gateway: 'abcd:1234:ffff::1' },
      ],
      routes: [
        { dst: '15.5.6.0/24', gw: '15.5.6.8' },
        { dst: '1111:dddd::/80', gw: '1111:dddd::aaaa' },
      ],
      dns: dnsJson,
    });
  });

  it('keeps struct field order and always prints dns', () => {
    const out = printResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }, '0.3.1');
    expect(out).toBe('{\n    "cniVersion": "0.3.1",\n    "ips": [\n        {\n            "version": "4",\n            "address": "10.0.0.2/24"\n        }\n    ],\n    "dns": {}\n}');
  });

  it('keeps the 1.1 route fields', () => {
    const out = JSON.parse(printResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }], routes: [{ dst: '0.0.0.0/0', mtu: 1400, table: 0 }] }, '0.4.0'));
    expect(out.routes).toEqual([{ dst: '0.0.0.0/0', mtu: 1400, table: 0 }]);
  });
});

describe('converted to 0.1.0', () => {
  it('keeps the first ip of each family and splits routes by family', () => {
    expect(JSON.parse(printResult(canonical, '0.1.0'))).toEqual({
      cniVersion: '0.1.0',
      ip4: { ip: '1.2.3.30/24', gateway: '1.2.3.1', routes: [{ dst: '15.5.6.0/24', gw: '15.5.6.8' }] },
      ip6: { ip: 'abcd:1234:ffff::cdde/64', gateway: 'abcd:1234:ffff::1', routes: [{ dst: '1111:dddd::/80', gw: '1111:dddd::aaaa' }] },
      dns: dnsJson,
    });
  });

  it('fails without any IP', () => {
    expect(() => printResult({ cniVersion: '0.3.1', dns: {} } as never, '0.2.0')).toThrow('cannot convert: no valid IP addresses');
  });

  it('decides the family by the version field, dropping an entry without one', () => {
    const r = createResult('0.4.0', '{"cniVersion":"0.4.0","ips":[{"address":"10.0.0.2/24"},{"version":"4","address":"10.0.0.3/24"}]}');
    expect(JSON.parse(printResult(r, '0.2.0')).ip4).toEqual({ ip: '10.0.0.3/24' });
  });
});

describe('round trips', () => {
  it('1.1.0 -> 1.0.0 -> 1.1.0 is identical', () => {
    expect(convertResult(convertResult(canonical, '1.0.0'), '1.1.0')).toEqual(canonical);
  });

  for (const withGw of [true, false]) {
    it(`0.2.0 -> 0.4.0 -> 0.2.0 is identical (route gateways: ${withGw})`, () => {
      const r020 = {
        cniVersion: '0.2.0',
        ip4: { ip: '1.2.3.30/24', gateway: '1.2.3.1', routes: [withGw ? { dst: '15.5.6.0/24', gw: '15.5.6.8' } : { dst: '15.5.6.0/24' }] },
        ip6: { ip: 'abcd:1234:ffff::cdde/64', gateway: 'abcd:1234:ffff::1', routes: [withGw ? { dst: '1111:dddd::/80', gw: '1111:dddd::aaaa' } : { dst: '1111:dddd::/80' }] },
        dns: dnsJson,
      };
      const parsed = createResult('0.2.0', JSON.stringify(r020));
      const back = printResult(convertResult(parsed, '0.4.0'), '0.2.0');
      expect(back).toBe(encodeResult(parsed));
      expect(JSON.parse(back)).toEqual(r020);
    });
  }

  it('0.1.0 and 0.2.0 differ only in cniVersion', () => {
    const r = createResult('0.1.0', '{"cniVersion":"0.1.0","ip4":{"ip":"10.0.0.2/24"}}');
    expect(JSON.parse(printResult(r, '0.2.0'))).toEqual({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' }, dns: {} });
  });

  it('0.1.0 reaches 1.1.0 through 0.4.0', () => {
    const r = createResult('0.1.0', '{"ip4":{"ip":"10.0.0.2/24","gateway":"10.0.0.1","routes":[{"dst":"0.0.0.0/0"}]}}');
    expect(JSON.parse(printResult(r, '1.1.0'))).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
  });
});

describe('reading results', () => {
  it('reads "" as a 0.1.0 result', () => expect(createResult('', '{"ip4":{"ip":"10.0.0.2/24"}}').cniVersion).toBe('0.1.0'));
  it('converts to "" as 0.1.0', () => expect(convertResult(canonical, '').cniVersion).toBe('0.1.0'));

  it('ignores an extra version field in a 1.x result', () => {
    const r = createResult('1.0.0', '{"cniVersion":"1.0.0","ips":[{"version":"4","address":"10.0.0.2/24"}],"interfaces":[{"name":"a","pciID":"x","socketPath":"y"}]}');
    expect(r).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }], interfaces: [{ name: 'a', pciID: 'x', socketPath: 'y' }] });
  });

  it('refuses a result of another version family', () => {
    expect(() => createResult('1.1.0', '{"cniVersion":"5678.456"}')).toThrow(
      'result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "5678.456"',
    );
    expect(() => createResult('1.1.0', '{"cniVersion":"0.2.0"}')).toThrow('unmarshalled CNIVersion is "0.2.0"');
    expect(() => createResult('0.2.0', '{"cniVersion":"1.0.0"}')).toThrow('result type supports [ 0.1.0 0.2.0]');
  });

  it('refuses int fields written as 1.0, 1e2 or past int64, quoting them as written', () => {
    const doc = (n: string) => `{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","interface":${n}}],"routes":[{"dst":"0.0.0.0/0","mtu":1}]}`;
    for (const n of ['1.0', '1e2', '9223372036854775808', '1e400']) {
      expect(() => createResult('1.0.0', doc(n)), n).toThrow(`json: cannot unmarshal number ${n} into Go struct field ipConfig.interface of type int`);
    }
    expect((createResult('1.0.0', doc('-0')) as Result100).ips![0]!.interface).toBe(-0);
    expect(() => createResult('1.0.0', '{"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","MTU":1E2}]}')).toThrow(
      'json: cannot unmarshal number 1E2 into Go struct field route.mtu of type int',
    );
  });

  it('refuses an unknown version', () => {
    expect(() => createResult('0.4567.0', '{}')).toThrow('unsupported CNI result version "0.4567.0"');
    expect(() => convertResult(canonical, '1.2.3')).toThrow('no converter for CNI result version 1.1.0 to 1.2.3');
  });

  it('validates addresses with Go messages', () => {
    expect(() => createResult('1.0.0', '{"cniVersion":"1.0.0","routes":[{"dst":"1.2.3.0/24","gw":"1.2.3.x"}]}')).toThrow('invalid IP address: 1.2.3.x');
    expect(() => createResult('1.0.0', '{"cniVersion":"1.0.0","ips":[{"address":"1.2.3.4/99"}]}')).toThrow('invalid CIDR address: 1.2.3.4/99');
    expect(() => createResult('1.0.0', '{"cniVersion":"1.0.0","ips":[{"address":"1.2.3/45"}]}')).toThrow('invalid CIDR address: 1.2.3/45');
    expect(() => createResult('1.0.0', '{"cniVersion":"1.0.0","ips":[{"address":5}]}')).toThrow('json: cannot unmarshal number');
  });

  it('keeps host bits and normalises spelling', () => {
    const r = createResult('1.0.0', '{"cniVersion":"1.0.0","ips":[{"address":"2001:DB8:0:0::1/32","gateway":"::ffff:10.0.0.1"}]}');
    expect(r).toMatchObject({ ips: [{ address: '2001:db8::1/32', gateway: '10.0.0.1' }] });
  });

  it('matches keys case-insensitively', () => {
    const r = createResult('1.0.0', '{"CNIVersion":"1.0.0","IPs":[{"Address":"10.0.0.2/24"}]}');
    expect(r).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
  });
});
