import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { decodeConfig } from '../../src/cni/decode.ts';
import { fieldCI } from '../../src/cni/keys.ts';

const Policy = z.looseObject({ name: z.string(), value: z.unknown() });
const NetConf = z.looseObject({
  name: z.string(),
  mtu: z.optional(z.int()),
  isGateway: z.optional(z.boolean()),
  policies: z.optional(z.array(Policy)),
  ipam: z.optional(z.looseObject({ type: z.optional(z.string()) })),
  labels: z.optional(z.record(z.string(), z.string())),
});

describe('decodeConfig reads configs like Go', () => {
  it('matches struct keys case-insensitively at every level', () => {
    const c = decodeConfig(NetConf, { Name: 'n', MTU: 1400, Policies: [{ Name: 'EndpointPolicy', Value: { Type: 'X' } }], IPAM: { Type: 'host-local' } }, 'NetConf');
    expect(c.name).toBe('n');
    expect(c.mtu).toBe(1400);
    expect(c.policies).toEqual([{ name: 'EndpointPolicy', value: { Type: 'X' } }]);
    expect(c.ipam?.type).toBe('host-local');
  });

  it('prefers the later of two spellings', () => {
    expect(decodeConfig(NetConf, { name: 'a', NAME: 'b' }, 'NetConf').name).toBe('b');
  });

  it('keeps map keys exactly as written', () => {
    expect(decodeConfig(NetConf, { name: 'n', labels: { Key: 'v' } }, 'NetConf').labels).toEqual({ Key: 'v' });
  });

  it('leaves a field unset for null', () => {
    expect(decodeConfig(NetConf, { name: 'n', mtu: null }, 'NetConf').mtu).toBeUndefined();
  });

  it('never lets a "__proto__" key supply fields', () => {
    const doc = JSON.parse('{"name":"n","__proto__":{"isGateway":true,"mtu":1}}');
    const c = decodeConfig(NetConf, doc, 'NetConf');
    expect(c.isGateway).toBeUndefined();
    expect(c.mtu).toBeUndefined();
  });

  it('keeps unknown keys', () => {
    expect(decodeConfig(NetConf, { name: 'n', hairpinMode: true }, 'NetConf')).toMatchObject({ hairpinMode: true });
  });

  it('names the field and both types on a mismatch (code 6)', () => {
    try {
      decodeConfig(NetConf, { name: 'n', isGateway: 'true' }, 'NetConf');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: number }).code).toBe(6);
      expect((e as Error).message).toBe('json: cannot unmarshal string into Go struct field NetConf.isGateway of type bool');
    }
    expect(() => decodeConfig(NetConf, { name: 'n', mtu: '1400' }, 'NetConf')).toThrow(
      'json: cannot unmarshal string into Go struct field NetConf.mtu of type int',
    );
    expect(() => decodeConfig(NetConf, { name: 'n', mtu: 1.5 }, 'NetConf')).toThrow(
      'json: cannot unmarshal number 1.5 into Go struct field NetConf.mtu of type int',
    );
    expect(() => decodeConfig(NetConf, { name: 'n', ipam: { type: 3 } }, 'NetConf')).toThrow('Go struct field NetConf.ipam.type of type string');
  });

  it('names a missing required field (code 7)', () => {
    try {
      decodeConfig(NetConf, {}, 'NetConf');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: number }).code).toBe(7);
      expect((e as Error).message).toContain('"name"');
    }
  });
});

describe('fieldCI', () => {
  it('finds exact and folded keys, the later winning', () => {
    expect(fieldCI({ Policies: 1 }, 'policies')).toBe(1);
    expect(fieldCI({ policies: 1, POLICIES: 2 }, 'policies')).toBe(2);
    expect(fieldCI({ POLICIES: 2, policies: 1 }, 'policies')).toBe(1);
    expect(fieldCI({}, 'policies')).toBeUndefined();
  });
});
