import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { type FlannelConf, loadFlannelConf } from '../../../src/plugins/flannel/conf.ts';
import { buildDelegate, encodeDelegate, ipamOnlyConf } from '../../../src/plugins/flannel/delegate-conf.ts';
import { parseSubnetEnv } from '../../../src/plugins/flannel/subnet-env.ts';
import { SUBNET_DUAL, SUBNET_V4, SUBNET_V4_TWO_NETWORKS, SUBNET_V6 } from './helpers.ts';

// The delegate config as a pure function of (conf, subnet.env, OS): the
// reference's Linux and Windows shapes, field for field.

const conf = (extra: Record<string, unknown> = {}): FlannelConf =>
  loadFlannelConf(Buffer.from(JSON.stringify({ name: 'cni-flannel', type: 'flannel', ...extra })));
const env = (text: string) => parseSubnetEnv(text, '/run/flannel/subnet.env');
const linux = (c: FlannelConf, text = SUBNET_V4) => buildDelegate(c, env(text), 'linux');
const windows = (c: FlannelConf, text = SUBNET_V4) => buildDelegate(c, env(text), 'windows');

function thrown(f: () => unknown): CniError {
  try {
    f();
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected an error');
}

// The reference test's input IPAM (case 12).
const inputIpam = (type?: string) => ({
  ...(type ? { type } : {}),
  'unknown-param': 'unknown-value',
  routes: [{ dst: '10.96.0.0/12' }, { dst: '192.168.244.0/24', gw: '10.1.17.20' }],
});

describe('Linux delegate', () => {
  // Reference case 1: the saved config of an IPv4 ADD.
  it('is a bridge with inverted ipMasq, mtu, isGateway, one range and the network route, and no cniVersion', () => {
    expect(linux(conf())).toEqual({
      ipMasq: false,
      ipam: { ranges: [[{ subnet: '10.1.17.0/24' }]], routes: [{ dst: '10.1.0.0/16' }], type: 'host-local' },
      isGateway: true,
      mtu: 1472,
      name: 'cni-flannel',
      type: 'bridge',
    });
  });

  it('masquerades in the bridge when flanneld does not', () => {
    expect(linux(conf(), SUBNET_V4.replace('FLANNEL_IPMASQ=true', 'FLANNEL_IPMASQ=false')).ipMasq).toBe(true);
  });

  // Reference case 5.
  it('routes every flannel network, with one range', () => {
    expect(linux(conf(), SUBNET_V4_TWO_NETWORKS).ipam).toEqual({
      type: 'host-local',
      ranges: [[{ subnet: '10.1.17.0/24' }]],
      routes: [{ dst: '10.1.0.0/16' }, { dst: '192.168.0.0/16' }],
    });
  });

  // Reference case 6.
  it('has one IPv6 range and route on an IPv6-only node', () => {
    expect(linux(conf(), SUBNET_V6).ipam).toEqual({
      type: 'host-local',
      ranges: [[{ subnet: 'fc00::/64' }]],
      routes: [{ dst: 'fc00::/48' }],
    });
  });

  // Reference case 7.
  it('has a v4 then a v6 range set on a dual-stack node, and both routes', () => {
    expect(linux(conf(), SUBNET_DUAL).ipam).toEqual({
      type: 'host-local',
      ranges: [[{ subnet: '10.1.17.0/24' }], [{ subnet: 'fc00::/64' }]],
      routes: [{ dst: '10.1.0.0/16' }, { dst: 'fc00::/48' }],
    });
  });

  // Reference case 12, for each stack.
  for (const [name, text, ranges, routes] of [
    ['v4', SUBNET_V4, [[{ subnet: '10.1.17.0/24' }]], [{ dst: '10.1.0.0/16' }]],
    ['v6', SUBNET_V6, [[{ subnet: 'fc00::/64' }]], [{ dst: 'fc00::/48' }]],
    ['dual', SUBNET_DUAL, [[{ subnet: '10.1.17.0/24' }], [{ subnet: 'fc00::/64' }]], [{ dst: '10.1.0.0/16' }, { dst: 'fc00::/48' }]],
  ] as const) {
    it(`keeps the input IPAM's type, unknown keys and routes, then adds flannel's (${name})`, () => {
      expect(linux(conf({ ipam: inputIpam('my-ipam') }), text).ipam).toEqual({
        type: 'my-ipam',
        'unknown-param': 'unknown-value',
        ranges,
        routes: [{ dst: '10.96.0.0/12' }, { dst: '192.168.244.0/24', gw: '10.1.17.20' }, ...routes],
      });
    });
  }

  // Reference case 13.
  it('makes the input IPAM host-local when it has no type', () => {
    expect(linux(conf({ ipam: inputIpam() })).ipam).toMatchObject({ type: 'host-local', 'unknown-param': 'unknown-value' });
  });

  it("replaces the input IPAM's ranges", () => {
    expect(linux(conf({ ipam: { ranges: [[{ subnet: '172.16.0.0/24' }]] } })).ipam).toMatchObject({ ranges: [[{ subnet: '10.1.17.0/24' }]] });
  });

  it("refuses a host-local 'subnet' in the input IPAM (it would become a second range set)", () => {
    const err = thrown(() => linux(conf({ ipam: { subnet: '10.1.17.0/24' } })));
    expect(err.code).toBe(7);
    expect(err.msg).toBe(
      "failed to assemble Delegate IPAM: 'ipam' dictionary must not have 'subnet' field, flannel sets host-local's ranges from /run/flannel/subnet.env",
    );
    // Go's host-local would read "Subnet" too.
    expect(thrown(() => linux(conf({ ipam: { type: 'host-local', Subnet: '10.1.17.0/24' } }))).msg).toContain("'Subnet' field");
    // Another IPAM plugin may have its own idea of "subnet".
    expect(linux(conf({ ipam: { type: 'my-ipam', subnet: 'x' } })).ipam).toMatchObject({ subnet: 'x' });
  });

  it('reads input routes like types.Route: host bits kept, gw normalised, unknown keys dropped', () => {
    const c = conf({ ipam: { routes: [{ DST: '10.96.0.1/12', gw: '::ffff:10.1.17.20', metric: 5, mtu: 1400, table: 0, priority: 0 }] } });
    expect(linux(c).ipam).toMatchObject({ routes: [{ dst: '10.96.0.1/12', gw: '10.1.17.20', mtu: 1400, table: 0 }, { dst: '10.1.0.0/16' }] });
  });

  it('reports bad input routes with the reference wording', () => {
    const prefix = 'failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: ';
    expect(thrown(() => linux(conf({ ipam: { routes: [{ dst: '10.96.0.0' }] } }))).msg).toBe(`${prefix}invalid CIDR address: 10.96.0.0`);
    expect(thrown(() => linux(conf({ ipam: { routes: [{ gw: '10.0.0.1' }] } }))).msg).toBe(`${prefix}route 0 has no "dst"`);
    expect(thrown(() => linux(conf({ ipam: { routes: { dst: '10.0.0.0/8' } } }))).msg).toBe(
      `${prefix}json: cannot unmarshal object into Go value of type []types.Route`,
    );
    expect(thrown(() => linux(conf({ ipam: { routes: [{ dst: '10.0.0.0/8', mtu: 1.5 }] } }))).msg).toBe(
      `${prefix}json: cannot unmarshal number 1.5 into Go struct field route.mtu of type int`,
    );
  });

  it('reads route numbers as the reference does: the ipam map holds float64s, re-encoded for types.Route', () => {
    // 1.0 and 1e2 are whole float64s, written back as 1 and 100: taken. 1e20 is written back as
    // 100000000000000000000, past int64: refused, as the reference refuses it.
    const routes = (mtu: string) => `{"name":"cni-flannel","type":"flannel","ipam":{"routes":[{"dst":"10.0.0.0/8","mtu":${mtu}}]}}`;
    const c = (mtu: string) => loadFlannelConf(Buffer.from(routes(mtu)));
    expect((linux(c('1.0')).ipam as { routes: unknown[] }).routes[0]).toEqual({ dst: '10.0.0.0/8', mtu: 1 });
    expect((linux(c('1e2')).ipam as { routes: unknown[] }).routes[0]).toEqual({ dst: '10.0.0.0/8', mtu: 100 });
    expect(thrown(() => linux(c('1e20'))).msg).toBe(
      'failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: json: cannot unmarshal number 100000000000000000000 into Go struct field route.mtu of type int',
    );
    expect(thrown(() => c('1e400')).msg).toBe('failed to load netconf: json: cannot unmarshal number 1e400 into Go struct field NetConf.ipam of type float64');
  });

  it("keeps the user's delegate values and adds only what is missing", () => {
    const d = linux(conf({ delegate: { type: 'bridge', ipMasq: true, mtu: 1400, isGateway: false, hairpinMode: true, isDefaultGateway: true } }));
    expect(d).toMatchObject({ ipMasq: true, mtu: 1400, isGateway: false, hairpinMode: true, isDefaultGateway: true });
  });

  it('sets isGateway only for the bridge', () => {
    expect(linux(conf({ delegate: { type: 'ipvlan' } }))).not.toHaveProperty('isGateway');
    expect(linux(conf({ delegate: { type: 'ipvlan' } }))).toMatchObject({ type: 'ipvlan', ipMasq: false, mtu: 1472 });
  });

  it('copies cniVersion only when the config has one', () => {
    expect(linux(conf({ cniVersion: '0.3.1' })).cniVersion).toBe('0.3.1');
    expect(linux(conf())).not.toHaveProperty('cniVersion');
  });

  it('passes runtimeConfig into the delegate, replacing one the delegate had', () => {
    const rc = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1 } };
    expect(linux(conf({ runtimeConfig: rc, delegate: { runtimeConfig: { old: true } } })).runtimeConfig).toEqual(rc);
    expect(linux(conf({ delegate: { runtimeConfig: { mine: true } } })).runtimeConfig).toEqual({ mine: true });
  });

  it('does not change the config it was given', () => {
    const c = conf({ ipam: inputIpam('my-ipam'), delegate: { hairpinMode: true }, runtimeConfig: { a: 1 } });
    const before = structuredClone(c);
    linux(c);
    windows(c);
    expect(c).toEqual(before);
  });
});

describe('Windows delegate', () => {
  it('is a win-bridge with raw ipMasq, ipMasqNetwork, cniVersion 0.2.0 and leases from .3 on', () => {
    expect(windows(conf())).toEqual({
      name: 'cni-flannel',
      type: 'win-bridge',
      ipMasq: true,
      ipMasqNetwork: '10.1.0.0/16',
      cniVersion: '0.2.0',
      // .1 is the gateway host-local skips; .2 is the HNS host endpoint cbr0_ep.
      ipam: { type: 'host-local', subnet: '10.1.17.0/24', gateway: '10.1.17.2', rangeStart: '10.1.17.3' },
    });
  });

  it('does not invert ipMasq, and overwrites the delegate\'s', () => {
    const d = windows(conf({ delegate: { ipMasq: true } }), SUBNET_V4.replace('FLANNEL_IPMASQ=true', 'FLANNEL_IPMASQ=false'));
    expect(d.ipMasq).toBe(false);
  });

  it('keeps win-overlay\'s IPAM as the reference has it', () => {
    expect(windows(conf({ cniVersion: '0.3.0', delegate: { type: 'win-overlay', apiVersion: 2 } }))).toEqual({
      name: 'cni-flannel',
      type: 'win-overlay',
      apiVersion: 2,
      ipMasq: true,
      ipMasqNetwork: '10.1.0.0/16',
      cniVersion: '0.3.0',
      ipam: { type: 'host-local', subnet: '10.1.17.0/24' },
    });
  });

  it('ignores the input IPAM, mtu and IPv6, and passes runtimeConfig', () => {
    const d = windows(conf({ ipam: inputIpam('my-ipam'), runtimeConfig: { dns: { servers: ['10.96.0.10'] } } }), SUBNET_DUAL);
    expect(d.ipam).toEqual({ type: 'host-local', subnet: '10.1.17.0/24', gateway: '10.1.17.2', rangeStart: '10.1.17.3' });
    expect(d).not.toHaveProperty('mtu');
    expect(d).not.toHaveProperty('isGateway');
    expect(d.runtimeConfig).toEqual({ dns: { servers: ['10.96.0.10'] } });
  });

  it('uses the first FLANNEL_NETWORK as ipMasqNetwork', () => {
    expect(windows(conf(), SUBNET_V4_TWO_NETWORKS).ipMasqNetwork).toBe('10.1.0.0/16');
  });

  it('refuses an IPv6-only node with a clear error (the reference crashes)', () => {
    const err = thrown(() => windows(conf(), SUBNET_V6));
    expect(err.code).toBe(7);
    expect(err.msg).toBe(
      'flannel on Windows needs an IPv4 FLANNEL_NETWORK and FLANNEL_SUBNET in /run/flannel/subnet.env; IPv6-only networks are not supported by the Windows delegates',
    );
  });

  it('refuses an l2bridge subnet with no room for pods after cbr0_ep', () => {
    const tiny = SUBNET_V4.replace('10.1.17.1/24', '10.1.17.1/30');
    expect(thrown(() => windows(conf(), tiny)).msg).toContain('too small for win-bridge');
    expect(windows(conf(), SUBNET_V4.replace('10.1.17.1/24', '10.1.17.1/29')).ipam).toMatchObject({ rangeStart: '10.1.17.3' });
  });
});

describe('delegate map checks', () => {
  it('refuses name, ipam and a non-string type in the delegate, with the reference messages', () => {
    expect(thrown(() => linux(conf({ delegate: { name: 'x' } }))).msg).toBe("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
    expect(thrown(() => windows(conf({ delegate: { ipam: {} } }))).msg).toBe("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
    expect(thrown(() => linux(conf({ delegate: { type: 5 } }))).msg).toBe("'delegate' dictionary, if present, must have (string) 'type' field");
    expect(thrown(() => linux(conf({ delegate: { type: null } }))).code).toBe(7);
  });

  it('matches delegate keys exactly, as Go map lookups do', () => {
    const d = linux(conf({ delegate: { Name: 'x', IPAM: {}, IpMasq: true } }));
    expect(d).toMatchObject({ Name: 'x', IPAM: {}, IpMasq: true, ipMasq: false, name: 'cni-flannel' });
  });
});

describe('encodeDelegate', () => {
  it('writes the bytes Go writes for the map: sorted keys, compact, HTML-escaped', () => {
    const d = linux(conf({ delegate: { hairpinMode: true, zeta: '<a&b>', Alpha: 1 } }));
    expect(encodeDelegate(d).toString()).toBe(
      '{"Alpha":1,"hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],"type":"host-local"},' +
        '"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge","zeta":"\\u003ca\\u0026b\\u003e"}',
    );
  });

  it('keeps route fields in types.Route order, not sorted', () => {
    const d = linux(conf({ ipam: { routes: [{ scope: 0, table: 100, priority: 5, advmss: 1300, mtu: 1400, gw: '10.0.0.1', dst: '10.96.0.0/12' }] } }));
    expect(encodeDelegate(d).toString()).toContain(
      '"routes":[{"dst":"10.96.0.0/12","gw":"10.0.0.1","mtu":1400,"advmss":1300,"priority":5,"table":100,"scope":0},{"dst":"10.1.0.0/16"}]',
    );
    // A foreign IPAM's route keys are kept, after the known ones.
    expect(encodeDelegate({ ipam: { routes: [{ via: 'x', dst: '10.0.0.0/8', Metric: 1 }] } }).toString()).toBe(
      '{"ipam":{"routes":[{"dst":"10.0.0.0/8","Metric":1,"via":"x"}]}}',
    );
  });
});

describe('ipamOnlyConf (lease release without subnet.env)', () => {
  it('points at the same host-local store the delegate would use', () => {
    expect(ipamOnlyConf(conf({ cniVersion: '1.0.0', ipam: { dataDir: '/x', subnet: '10.0.0.0/8', routes: [] } }), 'linux')).toEqual({
      cniVersion: '1.0.0',
      name: 'cni-flannel',
      type: 'host-local',
      ipam: { type: 'host-local', dataDir: '/x', ranges: [[{ subnet: '192.0.2.0/24' }]] },
    });
    expect(ipamOnlyConf(conf({ ipam: { dataDir: '/x' } }), 'windows')).toEqual({
      cniVersion: '0.2.0',
      name: 'cni-flannel',
      type: 'host-local',
      ipam: { type: 'host-local', ranges: [[{ subnet: '192.0.2.0/24' }]] },
    });
    expect(ipamOnlyConf(conf({ ipam: { type: 'my-ipam', k: 1 } }), 'linux')).toEqual({ name: 'cni-flannel', type: 'my-ipam', ipam: { type: 'my-ipam', k: 1 } });
  });
});
