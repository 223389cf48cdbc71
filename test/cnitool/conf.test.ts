import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NoConfigsFoundError,
  NotFoundError,
  loadNetworkConf,
  networkConfFromBytes,
} from '../../src/cnitool/conf.ts';
import { tempDir } from '../helpers/tmp.ts';

// Loading network configuration the way libcni does (cni-spec.md §2.1 and
// the config-loading and version-selection scenarios of §4.6).

const fromJson = (doc: unknown) => networkConfFromBytes(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)));

function confDir(files: Record<string, unknown>): string {
  const dir = tempDir();
  for (const [name, doc] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
  }
  return dir;
}

const list3 = {
  cniVersion: '1.0.0',
  name: 'whatever',
  plugins: [{ type: 'bridge', mtu: 1400 }, { type: 'portmap' }, { type: 'tuning' }],
};

describe('loadNetworkConf', () => {
  it('prefers a .conflist over a .conf of the same name, and up-converts the .conf once the list is gone', () => {
    const dir = confDir({
      '50-whatever.conflist': list3,
      '49-whatever.conf': { cniVersion: '0.4.0', name: 'whatever', type: 'bridge', bridge: 'cni0' },
    });
    const list = loadNetworkConf(dir, 'whatever');
    expect(list.plugins.map((p) => p.network.type)).toEqual(['bridge', 'portmap', 'tuning']);
    expect(list.bytes.toString()).toBe(JSON.stringify(list3));

    fs.rmSync(path.join(dir, '50-whatever.conflist'));
    const single = loadNetworkConf(dir, 'whatever');
    expect(single.plugins).toHaveLength(1);
    expect(single.plugins[0]!.network.type).toBe('bridge');
    expect(single.cniVersion).toBe('0.4.0');
    expect(single.bytes.toString()).toBe(
      '{"cniVersion":"0.4.0","name":"whatever","plugins":[{"bridge":"cni0","cniVersion":"0.4.0","name":"whatever","type":"bridge"}]}',
    );
  });

  it('re-encodes each plugin entry with sorted keys, as Go does', () => {
    const list = fromJson({ name: 'n', cniVersion: '1.0.0', plugins: [{ type: 'bridge', mtu: 1400 }] });
    expect(list.plugins[0]!.bytes.toString()).toBe('{"mtu":1400,"type":"bridge"}');
  });

  it('takes the first matching list in byte order of file names', () => {
    const dir = confDir({
      '10-b.conflist': { ...list3, name: 'net', plugins: [{ type: 'second' }] },
      '09-a.conflist': { ...list3, name: 'net', plugins: [{ type: 'first' }] },
      'A.conflist': { ...list3, name: 'net', plugins: [{ type: 'upper-case-sorts-after-digits' }] },
    });
    expect(loadNetworkConf(dir, 'net').plugins[0]!.network.type).toBe('first');
  });

  it('aborts on a broken list even when it belongs to another network', () => {
    const dir = confDir({ '10-mine.conflist': { ...list3, name: 'mine' }, '05-broken.conflist': '{"name": ' });
    expect(() => loadNetworkConf(dir, 'mine')).toThrow('error parsing configuration list: unexpected end of JSON input');
  });

  it('reports a missing directory as no configurations at all', () => {
    const dir = path.join(tempDir(), 'absent');
    const err = (() => {
      try {
        loadNetworkConf(dir, 'x');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NoConfigsFoundError);
    expect((err as Error).message).toBe(`no net configurations found in ${dir}`);
  });

  it('reports an unknown name when lists exist but none matches', () => {
    const dir = confDir({ '10-a.conflist': list3 });
    expect(() => loadNetworkConf(dir, 'x')).toThrow(NotFoundError);
    expect(() => loadNetworkConf(dir, 'x')).toThrow(`no net configuration with name "x" in ${dir}`);
  });

  it('reports an unknown name among single-plugin files too', () => {
    const dir = confDir({ '10-a.conf': { name: 'a', type: 'bridge' }, '20-b.json': { name: 'b', type: 'bridge' } });
    expect(loadNetworkConf(dir, 'b').plugins[0]!.network.type).toBe('bridge');
    expect(() => loadNetworkConf(dir, 'x')).toThrow(`no net configuration with name "x" in ${dir}`);
  });

  it('ignores subdirectories and other extensions', () => {
    const dir = confDir({ 'sub.conflist/x': '', 'a.conflist.bak': '{', 'README': 'hi', '1.conflist': list3 });
    expect(loadNetworkConf(dir, 'whatever').plugins).toHaveLength(3);
  });

  it('says which single-plugin file cannot be parsed', () => {
    const dir = confDir({ '10-a.conf': '{"name": "a", "type": 5}' });
    expect(() => loadNetworkConf(dir, 'a')).toThrow(
      'error parsing configuration: json: cannot unmarshal number into Go struct field PluginConf.type of type string',
    );
  });

  it('appends plugin fragments from <dir>/<network>/*.conf after the inline plugins', () => {
    const dir = confDir({
      '10-net.conflist': { cniVersion: '1.1.0', name: 'net', plugins: [{ type: 'inline' }] },
      'net/20-b.conf': { type: 'frag-b' },
      'net/10-a.conf': { type: 'frag-a' },
      'net/30-c.json': { type: 'not-a-fragment' },
    });
    expect(loadNetworkConf(dir, 'net').plugins.map((p) => p.network.type)).toEqual(['inline', 'frag-a', 'frag-b']);
  });

  it('builds a list from fragments alone when it has no plugins key', () => {
    const dir = confDir({ '10-net.conflist': { cniVersion: '1.1.0', name: 'net' }, 'net/a.conf': { type: 'frag' } });
    const list = loadNetworkConf(dir, 'net');
    expect(list.plugins.map((p) => p.network.type)).toEqual(['frag']);
    expect(list.plugins[0]!.bytes.toString()).toBe(JSON.stringify({ type: 'frag' }));
  });

  it('ignores fragments with loadOnlyInlinedPlugins', () => {
    const dir = confDir({
      '10-net.conflist': { cniVersion: '1.1.0', name: 'net', loadOnlyInlinedPlugins: true, plugins: [{ type: 'inline' }] },
      'net/a.conf': { type: 'frag' },
    });
    expect(loadNetworkConf(dir, 'net').plugins.map((p) => p.network.type)).toEqual(['inline']);
  });

  it('fails a list that ends up with no plugins', () => {
    const dir = confDir({ '10-net.conflist': { cniVersion: '1.1.0', name: 'net' } });
    expect(() => loadNetworkConf(dir, 'net')).toThrow('no plugin configs found');
  });

  it('never looks for fragments outside the config directory', () => {
    const outside = confDir({ 'evil.conf': { type: 'evil' } });
    const dir = confDir({ '10-net.conflist': { cniVersion: '1.1.0', name: `../${path.basename(outside)}`, plugins: [{ type: 'ok' }] } });
    const list = loadNetworkConf(dir, `../${path.basename(outside)}`);
    expect(list.plugins.map((p) => p.network.type)).toEqual(['ok']);
  });

  it('names an unreadable fragment', () => {
    const dir = confDir({ '10-net.conflist': { cniVersion: '1.1.0', name: 'net' }, 'net/a.conf': '{"type":' });
    expect(() => loadNetworkConf(dir, 'net')).toThrow('error parsing configuration: unexpected end of JSON input');
  });
});

describe('networkConfFromBytes', () => {
  it.each([
    ['{"name": ', 'error parsing configuration list: unexpected end of JSON input'],
    ['[1]', 'error parsing configuration list: json: cannot unmarshal array into Go value of type map[string]interface {}'],
    ['{"plugins":[{"type":"x"}]}', 'error parsing configuration list: no name'],
    ['{"name":5}', 'error parsing configuration list: invalid name type float64'],
    ['{"name":"n","cniVersion":1}', 'error parsing configuration list: invalid cniVersion type float64'],
    ['{"name":"n","plugins":[]}', 'error parsing configuration list: no plugins in list'],
    ['{"name":"n","plugins":{}}', "error parsing configuration list: invalid 'plugins' type map[string]interface {}"],
    ['{"name":"n","loadOnlyInlinedPlugins":true}', "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key"],
    ['{"name":"n","plugins":[{"name":"x"}]}', "failed to parse plugin config 0: error parsing configuration: missing 'type'"],
    ['{"name":"n","plugins":[{"type":"a"},{"type":""}]}', "failed to parse plugin config 1: error parsing configuration: missing 'type'"],
    ['{"name":"n","plugins":[5]}', 'failed to parse plugin config 0: error parsing configuration: json: cannot unmarshal number into Go value of type types.PluginConf'],
    ['{"name":"n","disableCheck":"maybe","plugins":[{"type":"a"}]}', 'error parsing configuration list: invalid value "maybe" for disableCheck'],
    ['{"name":"n","disableGC":1,"plugins":[{"type":"a"}]}', 'error parsing configuration list: invalid type float64 for disableGC'],
  ])('rejects %s', (text, message) => {
    expect(() => fromJson(text)).toThrow(message);
  });

  it.each([
    [true, true],
    ['true', true],
    ['TRUE', true],
    ['false', false],
    [false, false],
  ])('reads disableCheck %j as %j', (value, expected) => {
    const list = fromJson({ name: 'n', disableCheck: value, disableGC: value, plugins: [{ type: 'a' }] });
    expect(list.disableCheck).toBe(expected);
    expect(list.disableGC).toBe(expected);
  });

  it('reads the plugin fields libcni uses, with Go struct key matching', () => {
    const list = fromJson({ name: 'n', plugins: [{ Type: 'bridge', Capabilities: { portMappings: true }, name: 'entry' }] });
    expect(list.plugins[0]!.network).toMatchObject({ type: 'bridge', capabilities: { portMappings: true }, name: 'entry' });
  });
});

describe('cniVersions selection', () => {
  const version = (doc: Record<string, unknown>) => fromJson({ name: 'n', plugins: [{ type: 'a' }], ...doc }).cniVersion;

  it('picks the highest listed version', () => {
    expect(version({ cniVersions: ['1.1.0', '0.4.0', '1.0.0'] })).toBe('1.1.0');
  });
  it('drops versions newer than the library implements', () => {
    expect(version({ cniVersions: ['99.0.0', '1.1.0', '0.4.0'] })).toBe('1.1.0');
  });
  it('rejects an entry that is not a version', () => {
    expect(() => version({ cniVersions: ['1.1.0', '0.4.0', '1.0.f'] })).toThrow(
      'error parsing configuration list: invalid cniVersions entry 1.0.f at index 2: failed to convert micro version part "f"',
    );
  });
  it('takes cniVersion as it is without cniVersions', () => {
    expect(version({ cniVersion: '1.2.3' })).toBe('1.2.3');
  });
  it('lets cniVersion join the candidates', () => {
    expect(version({ cniVersion: '1.0.0', cniVersions: ['0.1.0', '0.4.0'] })).toBe('1.0.0');
  });
  it('gives "" for an empty list and no cniVersion', () => {
    expect(version({ cniVersions: [] })).toBe('');
  });
  it('rejects entries that are not strings', () => {
    expect(() => version({ cniVersions: [1] })).toThrow('error parsing configuration list: invalid type for cniVersions index 0: float64');
    expect(() => version({ cniVersions: '1.0.0' })).toThrow('error parsing configuration list: invalid type for cniVersions: []interface {}');
  });
});
