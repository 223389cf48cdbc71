import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cacheAdd,
  cacheDel,
  cacheFilePath,
  getCachedAttachments,
  getCachedConfig,
  getCachedResult,
} from '../../src/cnitool/cache.ts';
import type { RuntimeConf } from '../../src/cnitool/runtime.ts';
import { tempDir } from '../helpers/tmp.ts';

// The result cache in libcni's format (cni-spec.md §2.4).

const rt: RuntimeConf = {
  containerId: 'some-container-id',
  netns: '/run/netns/x',
  ifName: 'eth0',
  args: [['FOO', 'BAR']],
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
};
const listBytes = Buffer.from('{"cniVersion":"1.0.0","name":"cachetest","plugins":[{"type":"noop"}]}\n');
const result = { cniVersion: '1.0.0', ips: [{ address: '10.1.2.3/24' }] };

describe('cache file', () => {
  it('is <cacheDir>/results/<network>-<containerID>-<ifName>, with the exact libcni document', () => {
    const dir = tempDir();
    cacheAdd(dir, result, listBytes, 'cachetest', rt);
    const file = path.join(dir, 'results', 'cachetest-some-container-id-eth0');
    expect(fs.readFileSync(file, 'utf8')).toBe(
      '{"kind":"cniCacheV1","containerId":"some-container-id",' +
        `"config":"${listBytes.toString('base64')}","ifName":"eth0","networkName":"cachetest","netns":"/run/netns/x",` +
        '"cniArgs":[["FOO","BAR"]],"capabilityArgs":{"portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}]},' +
        '"result":{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24"}]}}',
    );
  });

  it('leaves out empty optional fields', () => {
    const dir = tempDir();
    cacheAdd(dir, result, listBytes, 'cachetest', { containerId: 'c', netns: '', ifName: 'eth0', args: [], capabilityArgs: {} });
    const doc = JSON.parse(fs.readFileSync(cacheFilePath(dir, 'cachetest', { containerId: 'c', ifName: 'eth0' }), 'utf8'));
    expect(Object.keys(doc)).toEqual(['kind', 'containerId', 'config', 'ifName', 'networkName', 'result']);
  });

  it('is private: directory 0700, file 0600, no temporary file left behind', () => {
    const dir = path.join(tempDir(), 'cache');
    cacheAdd(dir, result, listBytes, 'cachetest', rt);
    expect(fs.statSync(path.join(dir, 'results')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, 'results', 'cachetest-some-container-id-eth0')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['results']);
    expect(fs.readdirSync(path.join(dir, 'results'))).toEqual(['cachetest-some-container-id-eth0']);
  });

  it('needs network name, container ID and interface name', () => {
    expect(() => cacheFilePath('/c', '', { containerId: 'id', ifName: 'eth0' })).toThrow(
      'cache file path requires network name (""), container ID ("id"), and interface name ("eth0")',
    );
    expect(() => cacheFilePath('/c', 'n', { containerId: '', ifName: 'eth0' })).toThrow('container ID ("")');
    expect(() => cacheFilePath('/c', 'n', { containerId: 'id', ifName: '' })).toThrow('interface name ("")');
  });

  it('never becomes a path outside the results directory', () => {
    expect(() => cacheFilePath('/c', 'n', { containerId: 'id', ifName: '../../../etc/passwd' })).toThrow('contains a path separator');
    expect(() => cacheFilePath('/c', '../n', { containerId: 'id', ifName: 'eth0' })).toThrow('contains a path separator');
  });

  it('is removed by cacheDel, which tolerates a missing file', () => {
    const dir = tempDir();
    cacheAdd(dir, result, listBytes, 'cachetest', rt);
    cacheDel(dir, 'cachetest', rt);
    expect(fs.readdirSync(path.join(dir, 'results'))).toEqual([]);
    expect(() => cacheDel(dir, 'cachetest', rt)).not.toThrow();
  });
});

describe('reading the cache', () => {
  const write = (text: string) => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'results'));
    fs.writeFileSync(path.join(dir, 'results', 'cachetest-some-container-id-eth0'), text);
    return dir;
  };

  it('returns the cached result converted to the config version', () => {
    const dir = tempDir();
    cacheAdd(dir, { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.2.3/24' }], dns: {} }, listBytes, 'cachetest', rt);
    expect(getCachedResult(dir, 'cachetest', '1.1.0', rt)).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.1.2.3/24' }] });
  });

  it('reads a legacy bare result file', () => {
    const dir = write('{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24"}]}');
    expect(getCachedResult(dir, 'cachetest', '1.0.0', rt)).toEqual(result);
  });

  it('has nothing for a missing file', () => {
    expect(getCachedResult(tempDir(), 'cachetest', '1.0.0', rt)).toBeUndefined();
    expect(getCachedConfig(tempDir(), 'cachetest', rt)).toBeUndefined();
  });

  it('explains a file that is not JSON', () => {
    const dir = write('adfadsfasdfasfdsafaf');
    expect(() => getCachedResult(dir, 'cachetest', '1.0.0', rt)).toThrow(
      "decoding version from network config: invalid character 'a' looking for beginning of value",
    );
    expect(() => getCachedConfig(dir, 'cachetest', rt)).toThrow(
      `failed to unmarshal cached network "cachetest" config: invalid character 'a' looking for beginning of value`,
    );
  });

  it('refuses a result version it does not know', () => {
    const dir = write('{"kind":"cniCacheV1","containerId":"c","config":"","ifName":"eth0","networkName":"cachetest","result":{"cniVersion":"0.4567.0"}}');
    expect(() => getCachedResult(dir, 'cachetest', '1.0.0', rt)).toThrow('unsupported CNI result version "0.4567.0"');
  });

  it('refuses a result that cannot take the config version', () => {
    const dir = write('{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}]}');
    expect(() => getCachedResult(dir, 'cachetest', '0.2.0', rt)).toThrow(
      'failed to convert cached result to config version "0.2.0": cannot convert: no valid IP addresses',
    );
  });

  it('gives back the cached config and runtime args', () => {
    const dir = tempDir();
    cacheAdd(dir, result, listBytes, 'cachetest', rt);
    const cached = getCachedConfig(dir, 'cachetest', { containerId: rt.containerId, netns: '', ifName: 'eth0' });
    expect(cached?.config).toEqual(listBytes);
    expect(cached?.rt.args).toEqual([['FOO', 'BAR']]);
    expect(cached?.rt.capabilityArgs).toEqual(rt.capabilityArgs);
  });
});

describe('cached attachments', () => {
  it('lists the readable cniCacheV1 files, optionally of one container', () => {
    const dir = tempDir();
    cacheAdd(dir, result, listBytes, 'net', { ...rt, containerId: 'a' });
    cacheAdd(dir, result, listBytes, 'net', { ...rt, containerId: 'b', ifName: 'eth1' });
    cacheAdd(dir, result, listBytes, 'other', { ...rt, containerId: 'a' });
    fs.writeFileSync(path.join(dir, 'results', 'net-c-eth0'), '{"cniVersion":"1.0.0"}');
    fs.writeFileSync(path.join(dir, 'results', 'net-d-eth0'), 'garbage');
    const all = getCachedAttachments(dir);
    expect(all.map((a) => [a.network, a.containerId, a.ifName])).toEqual([
      ['net', 'a', 'eth0'],
      ['net', 'b', 'eth1'],
      ['other', 'a', 'eth0'],
    ]);
    expect(all[0]).toMatchObject({ netns: '/run/netns/x', cniArgs: [['FOO', 'BAR']], config: listBytes });
    expect(getCachedAttachments(dir, 'a').map((a) => a.network)).toEqual(['net', 'other']);
  });

  it('finds none without a cache directory', () => {
    expect(getCachedAttachments(path.join(tempDir(), 'absent'))).toEqual([]);
  });
});
