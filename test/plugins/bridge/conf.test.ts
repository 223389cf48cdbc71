import { describe, expect, it } from 'vitest';
import { collectVlanTrunk, loadBridgeConf } from '../../../src/plugins/bridge/conf.ts';

// The bridge's config (§3.1; §5.5 45, 46, 57, 65).

const conf = (over: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'bridge', ...over });

describe('loadBridgeConf', () => {
  it('has the reference defaults', () => {
    expect(loadBridgeConf(conf(), '')).toEqual({
      name: 'n',
      cniVersion: '1.0.0',
      brName: 'cni0',
      isGW: false,
      isDefaultGW: false,
      forceAddress: false,
      ipMasq: false,
      ipMasqBackend: undefined,
      mtu: 0,
      hairpinMode: false,
      promiscMode: false,
      vlan: 0,
      vlans: undefined,
      hasVlanTrunk: false,
      preserveDefaultVlan: false,
      macSpoofChk: false,
      enableDad: false,
      disableContainerInterface: false,
      portIsolation: false,
      ipamType: '',
      dns: undefined,
      mac: undefined,
      prevResult: undefined,
    });
  });

  it('makes isDefaultGateway imply isGateway', () => {
    expect(loadBridgeConf(conf({ isDefaultGateway: true }), '').isGW).toBe(true);
  });

  it('matches keys case-insensitively and leaves null fields at their default', () => {
    const c = loadBridgeConf(conf({ Bridge: 'br9', ISGATEWAY: true, mtu: null, IPAM: { Type: 'host-local' } }), '');
    expect([c.brName, c.isGW, c.mtu, c.ipamType]).toEqual(['br9', true, 0, 'host-local']);
  });

  it('names the field of a wrong type', () => {
    // (The Go type in the message comes from src/cni/decode.ts, which names an int field float64 here.)
    expect(() => loadBridgeConf(conf({ mtu: '1500' }), '')).toThrow('failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.mtu of type');
    expect(() => loadBridgeConf(conf({ mtu: 1.5 }), '')).toThrow('cannot unmarshal number 1.5 into Go struct field NetConf.mtu of type int');
    expect(() => loadBridgeConf(conf({ vlanTrunk: [{ minID: 'a' }] }), '')).toThrow('Go struct field NetConf.vlanTrunk.minID of type');
  });

  it('takes the MAC from runtimeConfig, then args.cni, then CNI_ARGS (57)', () => {
    expect(loadBridgeConf(conf(), 'MAC=02:00:00:00:00:01').mac).toBe('02:00:00:00:00:01');
    expect(loadBridgeConf(conf({ args: { cni: { mac: '02:00:00:00:00:02' } } }), 'MAC=02:00:00:00:00:01').mac).toBe('02:00:00:00:00:02');
    const all = conf({ args: { cni: { mac: '02:00:00:00:00:02' } }, RuntimeConfig: { mac: '02:00:00:00:00:03' } });
    expect(loadBridgeConf(all, 'MAC=02:00:00:00:00:01').mac).toBe('02:00:00:00:00:03');
  });

  it('reads CNI_ARGS like Go: unknown keys fail unless IgnoreUnknown', () => {
    expect(() => loadBridgeConf(conf(), 'K8S_POD_NAME=x')).toThrow('ARGS: unknown args ["K8S_POD_NAME=x"]');
    expect(loadBridgeConf(conf(), 'IgnoreUnknown=1;K8S_POD_NAME=x;MAC=02:00:00:00:00:01').mac).toBe('02:00:00:00:00:01');
  });

  it('keeps the config dns only when a field is set', () => {
    expect(loadBridgeConf(conf({ dns: {} }), '').dns).toBeUndefined();
    expect(loadBridgeConf(conf({ dns: { nameservers: [] } }), '').dns).toEqual({ nameservers: [] });
    expect(loadBridgeConf(conf({ dns: { domain: 'example' } }), '').dns).toEqual({ domain: 'example' });
  });

  it('checks the VLAN ID range (65)', () => {
    expect(loadBridgeConf(conf({ cniVersion: '0.4.0', vlan: 0 }), '').vlan).toBe(0);
    expect(() => loadBridgeConf(conf({ vlan: -100 }), '')).toThrow('invalid VLAN ID -100 (must be between 0 and 4094)');
    expect(() => loadBridgeConf(conf({ vlan: 5000 }), '')).toThrow('invalid VLAN ID 5000 (must be between 0 and 4094)');
  });

  it('turns VLAN filtering on for any vlanTrunk, even an empty one', () => {
    const c = loadBridgeConf(conf({ vlanTrunk: [] }), '');
    expect([c.hasVlanTrunk, c.vlans]).toEqual([true, undefined]);
  });
});

describe('collectVlanTrunk', () => {
  it('collects, sorts and deduplicates (45)', () => {
    expect(collectVlanTrunk([])).toBeUndefined();
    expect(collectVlanTrunk(undefined)).toBeUndefined();
    expect(collectVlanTrunk([{ minID: 100, maxID: 105 }])).toEqual([100, 101, 102, 103, 104, 105]);
    expect(collectVlanTrunk([{ id: 10 }])).toEqual([10]);
    expect(collectVlanTrunk([{ id: 10 }, { minID: 100, maxID: 105 }])).toEqual([10, 100, 101, 102, 103, 104, 105]);
    expect(collectVlanTrunk([{ minID: 3, maxID: 4, id: 3 }, { id: 1 }])).toEqual([1, 3, 4]);
  });

  const failures: [Record<string, number>, string][] = [
    [{ minID: 100 }, 'minID and maxID should be configured simultaneously, maxID is missing'],
    [{ maxID: 100 }, 'minID and maxID should be configured simultaneously, minID is missing'],
    [{ minID: -1, maxID: 100 }, 'incorrect trunk minID parameter'],
    [{ minID: 5000, maxID: 100 }, 'incorrect trunk minID parameter'],
    [{ minID: 1, maxID: 5000 }, 'incorrect trunk maxID parameter'],
    [{ id: 5000 }, 'incorrect trunk id parameter'],
    [{ id: -1 }, 'incorrect trunk id parameter'],
    [{ minID: 1000, maxID: 100 }, 'minID is greater than maxID in trunk parameter'],
  ];
  for (const [item, msg] of failures) {
    it(`refuses ${JSON.stringify(item)} (46)`, () => {
      expect(() => collectVlanTrunk([item])).toThrow(msg);
      expect(() => loadBridgeConf(conf({ vlanTrunk: [item] }), '')).toThrow(msg);
    });
  }
});
