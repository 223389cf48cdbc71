import { describe, expect, it } from 'vitest';
import { networkConfFromBytes } from '../../src/cnitool/conf.ts';
import { buildOneConfig, injectConf } from '../../src/cnitool/inject.ts';
import type { RuntimeConf } from '../../src/cnitool/runtime.ts';

// What one plugin of a list gets on stdin (cni-spec.md §1.7).

const rt = (capabilityArgs?: Record<string, unknown>): RuntimeConf => ({
  containerId: 'c1',
  netns: '/run/netns/x',
  ifName: 'eth0',
  capabilityArgs,
});

const pluginOf = (entry: Record<string, unknown>, version = '1.0.0') =>
  networkConfFromBytes(Buffer.from(JSON.stringify({ cniVersion: version, name: 'list', plugins: [entry] }))).plugins[0]!;

const stdinOf = (conf: { bytes: Buffer }) => JSON.parse(conf.bytes.toString()) as Record<string, unknown>;

describe('runtimeConfig from capability args', () => {
  const plugin = pluginOf({
    type: 'noop',
    capabilities: { portMappings: true, somethingElse: true, noCapability: false },
  });
  const args = {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    somethingElse: [1, 2, 3],
    noCapability: 'nope',
    notAdded: 'nope',
  };

  it('holds exactly the capabilities the plugin declares true', () => {
    const conf = stdinOf(buildOneConfig('list', '1.0.0', plugin, undefined, rt(args)));
    expect(conf.runtimeConfig).toEqual({ portMappings: args.portMappings, somethingElse: args.somethingElse });
  });

  it('leaves `capabilities` in the config, as libcni does', () => {
    const conf = stdinOf(buildOneConfig('list', '1.0.0', plugin, undefined, rt(args)));
    expect(conf.capabilities).toEqual({ portMappings: true, somethingElse: true, noCapability: false });
  });

  it('adds no runtimeConfig key when nothing overlaps', () => {
    const conf = stdinOf(buildOneConfig('list', '1.0.0', plugin, undefined, rt({ notAdded: 1 })));
    expect(Object.keys(conf)).not.toContain('runtimeConfig');
  });

  it('keeps an on-disk runtimeConfig unless it has something to inject, then replaces it', () => {
    const onDisk = pluginOf({ type: 'noop', capabilities: { mac: true }, runtimeConfig: { ips: ['10.0.0.9'] } });
    expect(stdinOf(buildOneConfig('list', '1.0.0', onDisk, undefined, rt({}))).runtimeConfig).toEqual({ ips: ['10.0.0.9'] });
    expect(stdinOf(buildOneConfig('list', '1.0.0', onDisk, undefined, rt({ mac: 'c2:11:22:33:44:55' }))).runtimeConfig).toEqual({
      mac: 'c2:11:22:33:44:55',
    });
  });
});

describe('request configuration', () => {
  it("overwrites the entry's name and cniVersion with the list's", () => {
    const conf = stdinOf(buildOneConfig('list', '1.1.0', pluginOf({ type: 'noop', name: 'own', cniVersion: '0.3.1' }), undefined, rt()));
    expect(conf).toMatchObject({ name: 'list', cniVersion: '1.1.0' });
  });

  it('keeps an on-disk prevResult for the first plugin: keys are only ever added', () => {
    const entry = { type: 'noop', prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.9.9.9/24' }] } };
    expect(stdinOf(buildOneConfig('list', '1.0.0', pluginOf(entry), undefined, rt())).prevResult).toEqual(entry.prevResult);
  });

  it('serialises through a Go map: compact, keys sorted, the prevResult in its own shape', () => {
    const prev = { cniVersion: '0.4.0', ips: [{ version: '4' as const, address: '10.1.2.3/24' }], dns: {} };
    const conf = buildOneConfig('list', '0.4.0', pluginOf({ zeta: 1, type: 'noop', alpha: { b: 1, a: 2 } }, '0.4.0'), prev, rt());
    expect(conf.bytes.toString()).toBe(
      '{"alpha":{"a":2,"b":1},"cniVersion":"0.4.0","name":"list",' +
        '"prevResult":{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}},"type":"noop","zeta":1}',
    );
  });

  it('passes unknown keys through', () => {
    const conf = stdinOf(buildOneConfig('list', '1.0.0', pluginOf({ type: 'noop', ipMasq: true, ipam: { type: 'host-local' } }), undefined, rt()));
    expect(conf).toMatchObject({ ipMasq: true, ipam: { type: 'host-local' } });
  });

  it('refuses an empty key or an undefined value', () => {
    const plugin = pluginOf({ type: 'noop' });
    expect(() => injectConf(plugin, { '': 1 })).toThrow('keys cannot be empty');
    expect(() => injectConf(plugin, { x: undefined })).toThrow("key 'x' value must not be nil");
  });
});
