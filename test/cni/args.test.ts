import { describe, expect, it } from 'vitest';
import { loadArgs, parseArgBool } from '../../src/cni/args.ts';
import { parseIP } from '../../src/net/ip.ts';

// pkg/types/args_test.go (cni-spec.md §4.3 and §1.11).

const ipField = {
  IP: (v: string) => {
    const ip = parseIP(v.split('/')[0]!);
    if (!ip) throw new Error(`invalid IP address ${v}`);
    return ip;
  },
};

describe('CNI_ARGS', () => {
  it('accepts an empty string', () => expect(loadArgs('', {}).IgnoreUnknown).toBe(false));

  it('ignores unknown keys when IgnoreUnknown is true, wherever it appears', () => {
    expect(loadArgs('IgnoreUnknown=True;Unk=nown', {}).IgnoreUnknown).toBe(true);
    expect(loadArgs('Unk=nown;IgnoreUnknown=1', {}).IgnoreUnknown).toBe(true);
  });

  it('rejects unknown keys otherwise, listing them Go-style', () => {
    expect(() => loadArgs('Unk=nown', {})).toThrow('ARGS: unknown args ["Unk=nown"]');
    expect(() => loadArgs('A=1;B=2', {})).toThrow('ARGS: unknown args ["A=1" "B=2"]');
  });

  it('rejects a pair without exactly one "=" (so a comma does not separate pairs)', () => {
    expect(() => loadArgs('IgnoreUnknown=0, Unk=nown', {})).toThrow('ARGS: invalid pair "IgnoreUnknown=0, Unk=nown"');
    expect(() => loadArgs('FOO', {})).toThrow('ARGS: invalid pair "FOO"');
    expect(() => loadArgs('A=1;', {})).toThrow('ARGS: invalid pair ""');
  });

  it('matches keys case-sensitively', () => {
    expect(() => loadArgs('ip=10.0.0.1', ipField)).toThrow('ARGS: unknown args ["ip=10.0.0.1"]');
    expect(loadArgs('IP=10.0.0.1', ipField).IP).toEqual(parseIP('10.0.0.1'));
  });

  it('reports a value that fails to parse, even with IgnoreUnknown', () => {
    expect(() => loadArgs('IgnoreUnknown=1;IP=nope', ipField)).toThrow('ARGS: error parsing value of pair "IP=nope": invalid IP address nope');
    expect(() => loadArgs('IgnoreUnknown=invalid', {})).toThrow(
      'ARGS: error parsing value of pair "IgnoreUnknown=invalid": boolean unmarshal error: invalid input invalid',
    );
  });

  it('is a code 4 error (an invalid environment variable)', () => {
    try {
      loadArgs('Unk=nown', {});
      expect.unreachable();
    } catch (e) {
      expect((e as { code: number }).code).toBe(4);
    }
  });

  it('reads kubelet-style arguments', () => {
    const a = loadArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;IP=10.1.2.10/24', ipField);
    expect(a.IP).toEqual(parseIP('10.1.2.10'));
  });
});

describe('UnmarshallableBool', () => {
  it('reads 1/true/True and 0/false/False', () => {
    for (const t of ['True', 'true', '1', 'TRUE']) expect(parseArgBool(t)).toBe(true);
    for (const f of ['False', 'false', '0']) expect(parseArgBool(f)).toBe(false);
  });
  it('rejects anything else', () => expect(() => parseArgBool('invalid')).toThrow('boolean unmarshal error: invalid input invalid'));
});
