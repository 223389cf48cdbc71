import { describe, expect, it } from 'vitest';
import {
  ALL_VERSIONS,
  compareVersions,
  decodePluginVersionInfo,
  decodeVersion,
  encodeVersionInfo,
  incompatibleVersionError,
  parseVersion,
  versionAtLeast,
} from '../../src/cni/version.ts';

// pkg/version tests (cni-spec.md §4.4).

describe('parseVersion', () => {
  it('reads "" as 0.1.0', () => expect(parseVersion('')).toEqual([0, 1, 0]));
  it('reads one to three parts', () => {
    expect(parseVersion('1')).toEqual([1, 0, 0]);
    expect(parseVersion('1.2')).toEqual([1, 2, 0]);
    expect(parseVersion('1.2.34')).toEqual([1, 2, 34]);
  });
  for (const bad of ['asdfasdf', 'asdf.', '.asdfas', 'asdf.adsf.', '0.', '..', '1.2.3.4.5']) {
    it(`rejects ${JSON.stringify(bad)}`, () => expect(() => parseVersion(bad)).toThrow());
  }
  it('explains the failure like Go', () => {
    expect(() => parseVersion('1.x.0')).toThrow('failed to convert minor version part "x"');
    expect(() => parseVersion('1.2.3.4')).toThrow('invalid version "1.2.3.4": too many parts');
  });
});

describe('ordering', () => {
  const pairs: [string, string][] = [
    ['1.2.34', '1.2.14'],
    ['2.5.4', '2.4.4'],
    ['1.2.3', '0.2.3'],
    ['0.4.0', '0.3.1'],
  ];
  for (const [hi, lo] of pairs) {
    it(`${hi} >= ${lo} and not the reverse`, () => {
      expect(versionAtLeast(hi, lo)).toBe(true);
      expect(versionAtLeast(lo, hi)).toBe(false);
    });
  }
  it('counts equal versions as >=', () => expect(versionAtLeast('1.1.0', '1.1.0')).toBe(true));
  it('compares numerically, not as text', () => expect(compareVersions('0.10.0', '0.9.0')).toBeGreaterThan(0));
});

describe('supported versions', () => {
  it('are the seven spec versions', () => {
    expect(ALL_VERSIONS).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  });
  it('VERSION output is compact JSON with a newline', () => {
    expect(encodeVersionInfo(['9.8.7', '10.0.0'])).toBe('{"cniVersion":"1.1.0","supportedVersions":["9.8.7","10.0.0"]}\n');
  });
});

describe('config version decoding', () => {
  it('defaults to 0.1.0', () => {
    expect(decodeVersion('{"name":"x"}')).toBe('0.1.0');
    expect(decodeVersion('{"cniVersion":""}')).toBe('0.1.0');
  });
  it('reports broken JSON with the Go prefix, code 6', () => {
    try {
      decodeVersion('{{{');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: number }).code).toBe(6);
      expect((e as Error).message).toMatch(/^decoding version from network config: invalid character/);
    }
  });
});

describe('reconciling', () => {
  it('requires an exact match and lists the plugin versions Go-style', () => {
    expect(incompatibleVersionError('0.1.0', ['0.1.0'])).toBeUndefined();
    const err = incompatibleVersionError('0.1.0', ['1.2.3', '4.3.2'])!;
    expect(err.code).toBe(1);
    expect(err.message).toBe('incompatible CNI versions; config is "0.1.0", plugin supports ["1.2.3" "4.3.2"]');
  });
});

describe('plugin version info decoding', () => {
  it('rejects broken JSON', () => {
    expect(() => decodePluginVersionInfo('{{{')).toThrow(
      "decoding version info: invalid character '{' looking for beginning of object key string",
    );
  });
  it('requires cniVersion', () => {
    expect(() => decodePluginVersionInfo('{"supportedVersions":["foo"]}')).toThrow('decoding version info: missing field cniVersion');
  });
  it('reads a bare 0.2.0 answer as [0.1.0, 0.2.0]', () => {
    expect(decodePluginVersionInfo('{"cniVersion":"0.2.0"}')).toEqual(['0.1.0', '0.2.0']);
  });
  it('requires supportedVersions otherwise', () => {
    expect(() => decodePluginVersionInfo('{"cniVersion":"1.0.0"}')).toThrow('decoding version info: missing field supportedVersions');
  });
});
