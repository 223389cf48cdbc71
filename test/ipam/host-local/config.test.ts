import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { formatIP } from '../../../src/net/ip.ts';
import { DEFAULT_DATA_DIR, type IpamConfig, loadIpamConfig } from '../../../src/ipam/host-local/config.ts';
import type { RangeSet } from '../../../src/ipam/host-local/range.ts';

// reference-plugins.md §5.3 config_test.go (cases 22-27, 30, 31) and the
// validation order and messages of §2.3.

const load = (conf: unknown, cniArgs = ''): IpamConfig => loadIpamConfig(JSON.stringify(conf), cniArgs);
const failure = (conf: unknown, cniArgs = ''): CniError => {
  try {
    loadIpamConfig(typeof conf === 'string' ? conf : JSON.stringify(conf), cniArgs);
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected an error');
};
const sets = (c: IpamConfig) =>
  c.rangeSets.map((s: RangeSet) =>
    s.map((r) => ({
      subnet: `${formatIP(r.subnet.ip)}/${r.subnet.prefix}`,
      start: formatIP(r.rangeStart),
      end: formatIP(r.rangeEnd),
      gw: r.gateway && formatIP(r.gateway),
    })),
  );
const requested = (c: IpamConfig) => c.requestedIPs.map(formatIP);

describe('loading host-local config', () => {
  it('reads an old-style single range, gateway outside start-end included (case 22)', () => {
    const c = load({
      cniVersion: '0.3.1',
      name: 'mynet',
      type: 'ipvlan',
      master: 'foo0',
      ipam: { type: 'host-local', subnet: '10.1.2.0/24', rangeStart: '10.1.2.9', rangeEnd: '10.1.2.20', gateway: '10.1.2.30' },
    });
    expect(c.name).toBe('mynet');
    expect(c.cniVersion).toBe('0.3.1');
    expect(c.dataDir).toBe(DEFAULT_DATA_DIR);
    expect(sets(c)).toEqual([[{ subnet: '10.1.2.0/24', start: '10.1.2.9', end: '10.1.2.20', gw: '10.1.2.30' }]]);
  });

  it('fills defaults in new-style ranges (case 23)', () => {
    const c = load({
      cniVersion: '0.3.1',
      name: 'mynet',
      ipam: {
        type: 'host-local',
        ranges: [
          [
            { subnet: '10.1.2.0/24', rangeStart: '10.1.2.9', rangeEnd: '10.1.2.20', gateway: '10.1.2.30' },
            { subnet: '10.1.4.0/24' },
          ],
          [{ subnet: '11.1.2.0/24', rangeStart: '11.1.2.9', rangeEnd: '11.1.2.20', gateway: '11.1.2.30' }],
        ],
      },
    });
    expect(sets(c)).toEqual([
      [
        { subnet: '10.1.2.0/24', start: '10.1.2.9', end: '10.1.2.20', gw: '10.1.2.30' },
        { subnet: '10.1.4.0/24', start: '10.1.4.1', end: '10.1.4.254', gw: '10.1.4.1' },
      ],
      [{ subnet: '11.1.2.0/24', start: '11.1.2.9', end: '11.1.2.20', gw: '11.1.2.30' }],
    ]);
  });

  it('orders range sets runtime ipRanges, legacy range, ranges, and ignores unknown runtime keys (case 24)', () => {
    const c = load({
      cniVersion: '0.3.1',
      name: 'mynet',
      runtimeConfig: { ipRanges: [[{ subnet: '12.1.3.0/24' }]], someOther: 'x' },
      ipam: { type: 'host-local', subnet: '10.1.2.0/24', ranges: [[{ subnet: '11.1.2.0/24' }]] },
    });
    expect(sets(c).map((s) => s[0]!.subnet)).toEqual(['12.1.3.0/24', '10.1.2.0/24', '11.1.2.0/24']);
  });

  it.each(['IP=10.1.2.10', 'IP=10.1.2.11/24'])('takes one requested IP from CNI_ARGS %s, prefix dropped (case 25)', (args) => {
    const c = load({ cniVersion: '0.3.1', name: 'mynet', ipam: { type: 'host-local', subnet: '10.1.2.0/24' } }, args);
    expect(requested(c)).toEqual([args.slice(3).split('/')[0]]);
  });

  it.each([
    ['IP=10.1.2.10', ['10.1.2.11', '11.11.11.11', '2001:db8:1::11']],
    ['IP=10.1.2.10/24', ['10.1.2.11/24', '11.11.11.11/24', '2001:db8:1::11/64']],
  ])('orders requested IPs CNI_ARGS first, then args.cni.ips, unchecked against ranges (case 26: %s)', (args, ips) => {
    const c = load({ cniVersion: '0.3.1', name: 'mynet', args: { cni: { ips } }, ipam: { type: 'host-local', subnet: '10.1.2.0/24' } }, args);
    expect(requested(c)).toEqual(['10.1.2.10', '10.1.2.11', '11.11.11.11', '2001:db8:1::11']);
  });

  it('adds runtimeConfig.ips last, IPv4 normalised, duplicates once (case 31)', () => {
    const c = load(
      {
        cniVersion: '0.3.1',
        name: 'mynet',
        args: { cni: { ips: ['192.168.0.5'] } },
        runtimeConfig: { ips: ['192.168.0.1', '192.168.0.5/24', '::ffff:192.168.0.7', '2001:db8::1/64'] },
        ipam: { type: 'host-local', subnet: '192.168.0.0/24' },
      },
      'IgnoreUnknown=1;K8S_POD_NAME=p',
    );
    expect(requested(c)).toEqual(['192.168.0.5', '192.168.0.1', '192.168.0.7', '2001:db8::1']);
  });

  it('keeps routes, normalised the way Go prints them, and resolvConf and dataDir', () => {
    const c = load({
      cniVersion: '1.0.0',
      name: 'mynet',
      ipam: {
        type: 'host-local',
        subnet: '10.1.2.0/24',
        dataDir: '/run/x',
        resolvConf: '/etc/r',
        routes: [{ dst: '0.0.0.0/0' }, { dst: '2001:db8:2::0/64', gw: '2001:DB8:3::1', mtu: 1400 }],
      },
    });
    expect(c.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '2001:db8:2::/64', gw: '2001:db8:3::1', mtu: 1400 }]);
    expect(c.dataDir).toBe('/run/x');
    expect(c.resolvConf).toBe('/etc/r');
  });

  it('matches keys case-insensitively like Go and treats null as unset', () => {
    const c = load({ cniVersion: '1.0.0', name: 'n', IPAM: { Subnet: '10.1.2.0/24', DataDir: null, RANGES: null } });
    expect(sets(c)[0]![0]!.subnet).toBe('10.1.2.0/24');
    expect(c.dataDir).toBe(DEFAULT_DATA_DIR);
  });
});

describe('config errors (§2.3), in the reference order and words', () => {
  const base = { cniVersion: '1.0.0', name: 'n' };

  it.each([
    [{ ...base }, "IPAM config missing 'ipam' key", 7],
    [{ ...base, ipam: { type: 'host-local' } }, 'no IP ranges specified', 7],
    [{ ...base, ipam: { ranges: [[]] } }, 'invalid range set 0: empty range set', 7],
    [{ ...base, ipam: { ranges: [[{}]] } }, 'invalid range set 0: IP <nil> not v4 nor v6', 7],
    [{ ...base, ipam: { ranges: [[{ subnet: '10.0.0.0/31' }]] } }, 'invalid range set 0: Network 10.0.0.0/31 too small to allocate from', 7],
    [{ ...base, ipam: { ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.0.0/24', rangeStart: '10.0.1.1' }]] } }, 'invalid range set 1: RangeStart 10.0.1.1 not in network 10.0.0.0/24', 7],
    [{ ...base, ipam: { ranges: [[{ subnet: '10.1.0.0/22' }, { subnet: '2001:db8:5::/64' }]] } }, 'invalid range set 0: mixed address families', 7],
    [
      { ...base, ipam: { ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.2.2.0/24' }], [{ subnet: '10.1.4.0/24' }, { subnet: '10.1.6.0/24' }, { subnet: '10.1.8.0/24' }, { subnet: '10.1.2.0/24' }]] } },
      'range set 0 overlaps with 1',
      7,
    ],
    [{ ...base, args: { cni: { ips: [''] } }, ipam: { subnet: '10.0.0.0/24' } }, 'cannot understand ip: IP <nil> not v4 nor v6', 7],
    [{ ...base, ipam: { subnet: '10.0.0.0/24', routes: [{ dst: '0.0.0.0/0' }, { gw: '10.0.0.1' }] } }, 'ipam.routes[1]: missing "dst"', 7],
  ])('%j fails: %s', (conf, msg, code) => {
    const err = failure(conf);
    expect(err.msg).toBe(msg);
    expect(err.code).toBe(code);
  });

  it('limits 0.2.0 to one range set per family, with two spaces when cniVersion is missing (case 30)', () => {
    const two4 = { name: 'n', ipam: { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.3.0/24' }]] } };
    expect(failure({ ...two4, cniVersion: '0.2.0' }).msg).toBe('CNI version 0.2.0 does not support more than 1 address per family');
    expect(failure(two4).msg).toBe('CNI version  does not support more than 1 address per family');
    const mixed = load({ cniVersion: '0.2.0', name: 'n', ipam: { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8::/64' }]] } });
    expect(mixed.rangeSets).toHaveLength(2);
    expect(load({ ...two4, cniVersion: '0.3.0' }).rangeSets).toHaveLength(2);
  });

  it('decodes addresses before any validation, with Go net messages (code 6)', () => {
    const bad = [
      [{ ...base, ipam: { subnet: '10.0.0.0/24x' } }, 'invalid CIDR address: 10.0.0.0/24x'],
      [{ ...base, ipam: { subnet: '10.0.0.0/24', rangeStart: '10.0.0.x' } }, 'invalid IP address: 10.0.0.x'],
      [{ ...base, ipam: { ranges: [[{ subnet: '10.0.0.0/24', gateway: 'zz' }]] } }, 'invalid IP address: zz'],
      [{ ...base, ipam: { routes: [{ dst: '1.2.3.0/24x' }], subnet: '10.0.0.0/24' } }, 'invalid CIDR address: 1.2.3.0/24x'],
      [{ ...base, args: { cni: { ips: ['1.2.3.x'] } } }, 'invalid IP address 1.2.3.x'],
      [{ ...base, runtimeConfig: { ips: ['1.2.3.x'] } }, 'invalid IP address 1.2.3.x'],
    ] as const;
    for (const [conf, msg] of bad) {
      const err = failure(conf);
      expect(err.msg).toBe(msg);
      expect(err.code).toBe(6);
    }
  });

  it('names the field and Go type of a JSON type mismatch like the reference does', () => {
    const cases = [
      [{ ...base, ipam: { dataDir: 5 } }, 'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.dataDir of type string'],
      [{ ...base, ipam: { gateway: 5 } }, 'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.gateway of type net.IP'],
      [{ ...base, ipam: { routes: {} } }, 'json: cannot unmarshal object into Go struct field IPAMConfig.ipam.routes of type []*types.Route'],
      [{ ...base, ipam: { routes: [{ dst: 5 }] } }, 'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type string'],
      [{ ...base, ipam: { ranges: 5 } }, 'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.ranges of type []allocator.RangeSet'],
      [{ ...base, ipam: { ranges: [[5]] } }, 'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.ranges of type allocator.Range'],
      [{ ...base, ipam: { ranges: [[{ subnet: '10.0.0.0/24', rangeEnd: true }]] } }, 'json: cannot unmarshal bool into Go struct field Range.ipam.ranges.rangeEnd of type net.IP'],
      [{ ...base, runtimeConfig: { ipRanges: [[{ subnet: 5 }]] } }, 'json: cannot unmarshal number into Go struct field Range.runtimeConfig.ipRanges.subnet of type string'],
      [{ ...base, runtimeConfig: { ips: 'x' } }, 'json: cannot unmarshal string into Go struct field .runtimeConfig.ips of type []*ip.IP'],
      [{ ...base, args: { cni: { ips: [5] } } }, 'json: cannot unmarshal number into Go struct field IPAMArgs.args.cni.ips of type *ip.IP'],
      [{ ...base, args: { cni: 5 } }, 'json: cannot unmarshal number into Go struct field .args.cni of type allocator.IPAMArgs'],
      [{ ...base, ipam: 'x' }, 'json: cannot unmarshal string into Go struct field Net.ipam of type allocator.IPAMConfig'],
    ] as const;
    for (const [conf, msg] of cases) {
      const err = failure(conf);
      expect(err.msg).toBe(msg);
      expect(err.code).toBe(6);
    }
  });

  it('checks CNI_ARGS after the ipam key and reports them with code 4', () => {
    const conf = { ...base, ipam: { subnet: '10.0.0.0/24' } };
    expect(failure({ ...base }, 'IP=x').msg).toBe("IPAM config missing 'ipam' key");
    const bad = failure(conf, 'IP=1.2.3.x');
    expect(bad.msg).toBe('ARGS: error parsing value of pair "IP=1.2.3.x": invalid IP address 1.2.3.x');
    expect(bad.code).toBe(4);
    expect(failure(conf, 'ip=10.0.0.5').msg).toBe('ARGS: unknown args ["ip=10.0.0.5"]');
    expect(requested(load(conf, 'IP='))).toEqual([]);
    expect(requested(load(conf, 'IgnoreUnknown=true;ip=1;IP=10.0.0.5'))).toEqual(['10.0.0.5']);
  });
});
