import { describe, expect, it } from 'vitest';
import { NetConfSchema, loadConf, parsePrevResult, validAttachments } from '../../src/cni/conf.ts';

describe('loadConf', () => {
  it('reads the shared fields, case-insensitively, with capabilities left in', () => {
    const c = loadConf(
      NetConfSchema,
      '{"cniVersion":"1.0.0","Name":"n","type":"bridge","capabilities":{"portMappings":true},"RuntimeConfig":{"portMappings":[{"hostPort":80,"containerPort":8080,"protocol":"tcp"}]}}',
    );
    expect(c.name).toBe('n');
    expect(c.runtimeConfig?.portMappings).toEqual([{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }]);
    expect(c.capabilities).toEqual({ portMappings: true });
  });

  it('prefixes errors like the Go plugins', () => {
    expect(() => loadConf(NetConfSchema, '{"name":')).toThrow('failed to load netconf: unexpected end of JSON input');
    expect(() => loadConf(NetConfSchema, '{"name":"n","ipam":[]}')).toThrow(
      'failed to load netconf: json: cannot unmarshal array into Go struct field NetConf.ipam of type struct',
    );
  });
});

describe('parsePrevResult', () => {
  it('is undefined without a prevResult', () => expect(parsePrevResult({ cniVersion: '1.0.0' })).toBeUndefined());

  it('gives the config version to a prevResult without one', () => {
    const r = parsePrevResult({ cniVersion: '0.4.0', prevResult: { ips: [{ version: '4', address: '10.0.0.2/24' }] } });
    expect(r?.cniVersion).toBe('0.4.0');
  });

  it('accepts 1.0.0 and 1.1.0 results under a 1.x config, ignoring an extra ip version', () => {
    const r = parsePrevResult({
      cniVersion: '1.0.0',
      prevResult: { cniVersion: '1.1.0', ips: [{ version: '4', address: '10.0.0.2/24' }], interfaces: [{ name: 'e', pciID: 'p', socketPath: 's' }] },
    });
    expect(r).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }], interfaces: [{ name: 'e', pciID: 'p', socketPath: 's' }] });
  });

  it('refuses a result from another version family', () => {
    expect(() => parsePrevResult({ cniVersion: '1.1.0', prevResult: { cniVersion: '5678.456' } })).toThrow(
      'could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "5678.456"',
    );
    expect(() => parsePrevResult({ cniVersion: '1.1.0', prevResult: { cniVersion: '0.2.0' } })).toThrow('unmarshalled CNIVersion is "0.2.0"');
  });
});

describe('validAttachments', () => {
  const a = { containerID: 'c1', ifname: 'eth0' };
  it('reads cni.dev/valid-attachments', () => expect(validAttachments({ 'cni.dev/valid-attachments': [a] })).toEqual([a]));
  it('accepts the older cni.dev/attachments key', () => expect(validAttachments({ 'cni.dev/attachments': [a] })).toEqual([a]));
  it('treats null and absent as none valid', () => {
    expect(validAttachments({ 'cni.dev/valid-attachments': null })).toEqual([]);
    expect(validAttachments({})).toEqual([]);
  });
  it('names the key when the shape is wrong', () => {
    expect(() => validAttachments({ 'cni.dev/valid-attachments': [{ containerID: 1 }] })).toThrow('cni.dev/valid-attachments[0]');
  });
});
