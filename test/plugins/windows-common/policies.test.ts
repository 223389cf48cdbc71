import { describe, expect, it } from 'vitest';
import {
  forApi,
  outboundNatDestinations,
  outboundNatExceptions,
  portMappingPolicies,
  protocolNumber,
  providerAddresses,
  userPolicyValues,
} from '../../../src/plugins/windows-common/policies.ts';
import type { HnsNetConf } from '../../../src/plugins/windows-common/conf.ts';

const conf = (policies: HnsNetConf['policies']): HnsNetConf => ({ name: 'n', policies });

describe('protocolNumber', () => {
  it('reads names ignoring case, as the reference does', () => {
    expect(['TCP', 'udp', 'IcmpV4', 'igmp', 'icmpv6'].map(protocolNumber)).toEqual([6, 17, 1, 2, 58]);
  });

  it("reads numbers with Go's base-0 syntax, up to 1023", () => {
    expect(['6', '0x11', '0o21', '0b110', '017', '0', '1_7', '0x_11'].map(protocolNumber)).toEqual([6, 17, 17, 6, 15, 0, 17, 17]);
  });

  it('rejects everything else', () => {
    for (const bad of ['', 'sctp', '1024', '08', '0x', '_1', '1_', '1__7', '-6', '+6', ' 6', '6 ', '6; rm -rf /']) {
      expect(protocolNumber(bad), bad).toBeUndefined();
    }
  });
});

describe('portMappingPolicies', () => {
  const mapping = { hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '192.168.1.2' };

  it('builds the reference v1 NAT policy, keeping the protocol as written', () => {
    expect(portMappingPolicies([mapping], 1)).toEqual([{ Type: 'NAT', InternalPort: 80, ExternalPort: 8080, Protocol: 'TCP' }]);
  });

  it('builds the reference v2 PortMapping policy with the protocol number and VIP', () => {
    expect(portMappingPolicies([mapping], 2)).toEqual([
      { Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '192.168.1.2' } },
    ]);
    expect(portMappingPolicies([{ hostPort: 53, containerPort: 53, protocol: 'udp' }], 2)).toEqual([
      { Type: 'PortMapping', Settings: { InternalPort: 53, ExternalPort: 53, Protocol: 17, VIP: '' } },
    ]);
  });

  it('skips mappings with an unknown protocol and builds nothing for none', () => {
    expect(portMappingPolicies([{ ...mapping, protocol: 'sctp' }, { hostPort: 1, containerPort: 2 }], 2)).toEqual([]);
    expect(portMappingPolicies([], 1)).toEqual([]);
  });
});

describe('EndpointPolicy values', () => {
  it('keeps only entries named EndpointPolicy (ignoring case) with a value', () => {
    const values = userPolicyValues(
      conf([
        { name: 'EndpointPolicy', value: { Type: 'A' } },
        { name: 'endpointpolicy', value: { Type: 'B' } },
        { name: 'NetworkPolicy', value: { Type: 'C' } },
        { name: 'EndpointPolicy' },
        { value: { Type: 'D' } },
      ]),
    );
    expect(values).toEqual([{ Type: 'A' }, { Type: 'B' }]);
  });

  it('passes v1 values through and reduces v2 values to {Type, Settings} like Go decoding hcn.EndpointPolicy', () => {
    const raw = { type: 'SDNRoute', settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true }, extra: 1 };
    expect(forApi(raw, 1)).toBe(raw);
    expect(forApi(raw, 2)).toEqual({ Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } });
    expect(forApi({ Type: 'ACL' }, 2)).toEqual({ Type: 'ACL' });
    expect(forApi({}, 2)).toEqual({ Type: '' });
  });

  it('drops v2 values that do not decode, as the reference does', () => {
    expect(forApi('OutBoundNAT', 2)).toBeUndefined();
    expect(forApi([{ Type: 'A' }], 2)).toBeUndefined();
    expect(forApi({ Type: 5 }, 2)).toBeUndefined();
  });

  it('finds existing OutBoundNAT exceptions and destinations, and provider addresses, per API shape', () => {
    const v1 = [
      { Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12', '10.244.0.0/16'] },
      { Type: 'OutBoundNAT', Destinations: ['10.244.1.9'] },
      { Type: 'outboundnat', ExceptionList: ['1.0.0.0/8'] },
      { Type: 'PA', PA: '192.168.1.10' },
    ];
    expect(outboundNatExceptions(v1, 1)).toEqual(['10.96.0.0/12', '10.244.0.0/16']);
    expect(outboundNatDestinations(v1, 1)).toEqual(['10.244.1.9']);
    expect(providerAddresses(v1, 1)).toEqual(['192.168.1.10']);
    const v2 = [
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'], Destinations: ['10.244.1.9'] } },
      { Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.1.10' } },
    ];
    expect(outboundNatExceptions(v2, 2)).toEqual(['10.96.0.0/12']);
    expect(outboundNatDestinations(v2, 2)).toEqual(['10.244.1.9']);
    expect(providerAddresses(v2, 2)).toEqual(['192.168.1.10']);
    expect(outboundNatExceptions(v2, 1)).toEqual([]);
  });
});
