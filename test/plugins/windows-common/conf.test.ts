import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { HnsNetConfSchema, apiVersionOf, loadHnsConf, mergedDns, networkWaitMs, validateForAdd } from '../../../src/plugins/windows-common/conf.ts';

const load = (doc: unknown) => loadHnsConf(HnsNetConfSchema, Buffer.from(JSON.stringify(doc)));

describe('HNS conf', () => {
  it("reads keys ignoring case, as real Windows configs need (microsoft/SDN's cni.conf)", () => {
    const conf = load({
      cniVersion: '0.2.0',
      Name: 'cbr0',
      Type: 'win-bridge',
      ApiVersion: 2,
      DNS: { Nameservers: ['10.96.0.10'], Search: ['svc.cluster.local'] },
      Policies: [{ Name: 'EndpointPolicy', Value: { Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12'] } }],
      LoopbackDSR: true,
    });
    expect(conf.name).toBe('cbr0');
    expect(apiVersionOf(conf)).toBe(2);
    expect(conf.dns).toEqual({ nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] });
    expect(conf.policies).toEqual([{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12'] } }]);
    expect(conf.loopbackDSR).toBe(true);
  });

  it('keeps policy values exactly as written (keys inside are not touched)', () => {
    const value = { type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', needencap: true, nested: { A: [1, { b: null }] } };
    expect(load({ name: 'n', policies: [{ name: 'EndpointPolicy', value }] }).policies?.[0]?.value).toEqual(value);
  });

  it('selects the v1 API unless apiVersion is 2, like the reference', () => {
    expect(apiVersionOf(load({ name: 'n' }))).toBe(1);
    expect(apiVersionOf(load({ name: 'n', apiVersion: 1 }))).toBe(1);
    expect(apiVersionOf(load({ name: 'n', apiVersion: 3 }))).toBe(1);
  });

  it('names the field when a value has the wrong type', () => {
    expect(() => load({ name: 'n', apiVersion: '2' })).toThrow(
      'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.apiVersion of type',
    );
    expect(() => load({ name: 'n', policies: {} })).toThrow('NetConf.policies');
  });

  it('waits 20 s for the network by default, as configured otherwise, and refuses silly waits', () => {
    expect(networkWaitMs(load({ name: 'n' }))).toBe(20_000);
    expect(networkWaitMs(load({ name: 'n', networkWaitSeconds: 0.5 }))).toBe(500);
    const err = (() => {
      try {
        validateForAdd(load({ name: 'n', networkWaitSeconds: -1 }));
      } catch (e) {
        return e as CniError;
      }
    })();
    expect(err?.code).toBe(7);
    expect(err?.msg).toBe('networkWaitSeconds must be between 0 and 600, got -1');
  });

  it("merges DNS: the runtime's servers and searches replace the conf's, domain and options stay", () => {
    const conf = load({
      name: 'n',
      dns: { nameservers: ['1.1.1.1'], domain: 'd', search: ['a'], options: ['ndots:5'] },
      runtimeConfig: { dns: { servers: ['10.96.0.10'], searches: [] } },
    });
    expect(mergedDns(conf)).toEqual({ nameservers: ['10.96.0.10'], domain: 'd', search: ['a'], options: ['ndots:5'] });
    expect(mergedDns(load({ name: 'n' }))).toEqual({});
  });
});
