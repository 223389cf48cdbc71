import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CniError } from '../../src/cni/errors.ts';
import {
  addNetworkList,
  checkNetworkList,
  delNetworkList,
  gcNetworkList,
  getStatusNetworkList,
  loadNetworkConf,
  type NetworkConfigList,
  networkConfFromBytes,
  type RuntimeConf,
  validateNetworkList,
} from '../../src/cnitool/index.ts';
import { cniVars, noop, type Sandbox, sandbox, writeNoop } from './fixtures.ts';

// The libcni list operations, driving a recording test plugin exactly as a
// runtime would (cni-spec.md §2.3-§2.9, scenarios of §4.6).

const rt = (extra: Partial<RuntimeConf> = {}): RuntimeConf => ({
  containerId: 'some-container-id',
  netns: '/some/netns/path',
  ifName: 'some-eth0',
  ...extra,
});

const listOf = (doc: Record<string, unknown>): NetworkConfigList => networkConfFromBytes(Buffer.from(JSON.stringify(doc)));

const ipResult = { cniVersion: '1.1.0', ips: [{ address: '10.1.2.3/24' }] };

/** Three plugins: a fixed result, a pass-through, a DNS injector (scenario 3). */
function threePlugins(sb: Sandbox, version = '1.1.0', extra: Record<string, unknown> = {}): NetworkConfigList {
  return listOf({
    cniVersion: version,
    name: 'some-list',
    plugins: [
      noop(sb, { result: { ...ipResult, cniVersion: version } }, { marker: 1 }),
      noop(sb, { result: 'PASSTHROUGH' }, { marker: 2 }),
      noop(sb, { result: 'INJECT-DNS' }, { marker: 3 }),
    ],
    ...extra,
  });
}

const errorOf = async (p: Promise<unknown>): Promise<CniError> => {
  try {
    await p;
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected a rejection');
};

const markers = (sb: Sandbox) => sb.calls().map((c) => `${c.command}${String(c.conf.marker)}`);

describe('ADD', () => {
  it('runs a single plugin with the runtime environment and caches what it returned', async () => {
    const sb = sandbox();
    const entry = noop(sb, { result: ipResult }, { capabilities: { portMappings: true } });
    const list = listOf({ cniVersion: '1.1.0', name: 'apitest', plugins: [entry] });
    const capabilityArgs = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
    const result = await addNetworkList(sb.cni, list, rt({ args: [['DEBUG', 'x']], capabilityArgs }));
    expect(result).toEqual(ipResult);

    const [call] = sb.calls();
    expect(cniVars(call!.env)).toEqual({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'some-container-id',
      CNI_NETNS: '/some/netns/path',
      CNI_IFNAME: 'some-eth0',
      CNI_ARGS: 'DEBUG=x',
      CNI_PATH: sb.binDir,
    });
    expect(call!.env.SANDBOX_MARKER).toBe('inherited');
    expect(call!.conf).toEqual({ ...entry, name: 'apitest', cniVersion: '1.1.0', runtimeConfig: capabilityArgs });

    const cached = JSON.parse(fs.readFileSync(sb.cacheFile('apitest', rt()), 'utf8'));
    expect(cached).toEqual({
      kind: 'cniCacheV1',
      containerId: 'some-container-id',
      config: list.bytes.toString('base64'),
      ifName: 'some-eth0',
      networkName: 'apitest',
      netns: '/some/netns/path',
      cniArgs: [['DEBUG', 'x']],
      capabilityArgs,
      result: ipResult,
    });
  });

  it('chains three plugins, each getting the list name, version and the previous result', async () => {
    const sb = sandbox();
    const result = await addNetworkList(sb.cni, threePlugins(sb), rt({ args: [['FOO', 'BAR']] }));
    expect(result).toEqual({ ...ipResult, dns: { nameservers: ['1.2.3.4'] } });
    const calls = sb.calls();
    expect(calls.map((c) => c.conf.marker)).toEqual([1, 2, 3]);
    for (const c of calls) {
      expect(c.conf).toMatchObject({ name: 'some-list', cniVersion: '1.1.0' });
      expect(c.env.CNI_ARGS).toBe('FOO=BAR');
    }
    expect(calls[0]!.conf).not.toHaveProperty('prevResult');
    expect(calls[1]!.conf.prevResult).toEqual(ipResult);
    expect(calls[2]!.conf.prevResult).toEqual(ipResult);
  });

  it('passes a result on in the version the plugin answered in, unconverted', async () => {
    const sb = sandbox();
    const old = { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.2.3/24' }], dns: {} };
    const list = listOf({ cniVersion: '1.0.0', name: 'n', plugins: [noop(sb, { result: old }), noop(sb, { result: 'PASSTHROUGH' })] });
    await addNetworkList(sb.cni, list, rt());
    expect(sb.calls()[1]!.conf.prevResult).toEqual(old);
  });

  it('wraps a failure with the plugin type and name, and caches nothing', async () => {
    const sb = sandbox();
    const list = listOf({
      cniVersion: '1.1.0',
      name: 'some-list',
      plugins: [noop(sb, { result: ipResult }), noop(sb, { error: { code: 7, msg: 'plugin error: banana' } }, { name: 'second' }), noop(sb)],
    });
    const err = await errorOf(addNetworkList(sb.cni, list, rt()));
    expect(err.message).toBe('plugin type="noop" name="second" failed (add): plugin error: banana');
    expect(err.code).toBe(7);
    expect(sb.calls()).toHaveLength(2);
    expect(fs.existsSync(sb.cacheFile('some-list', rt()))).toBe(false);
  });

  it.each([
    [{ containerId: '' }, 'plugin type="noop" failed (add): missing containerID'],
    [{ containerId: 'a/b' }, 'plugin type="noop" failed (add): invalid characters in containerID; a/b'],
    [{ ifName: '' }, 'plugin type="noop" failed (add): interface name is empty'],
    [{ ifName: 'a-very-long-interface-name' }, 'plugin type="noop" failed (add): interface name is too long'],
  ])('refuses a bad runtime request %j before running anything', async (bad, message) => {
    const sb = sandbox();
    const err = await errorOf(addNetworkList(sb.cni, threePlugins(sb), rt(bad)));
    expect(err.message).toContain(message);
    expect(sb.calls()).toEqual([]);
  });

  it('refuses a bad network name', async () => {
    const sb = sandbox();
    const list = listOf({ cniVersion: '1.1.0', name: 'bad name', plugins: [noop(sb)] });
    expect((await errorOf(addNetworkList(sb.cni, list, rt()))).message).toBe(
      'plugin type="noop" failed (add): invalid characters found in network name; bad name',
    );
  });

  it('says which plugin it could not find, and where it looked', async () => {
    const sb = sandbox();
    const list = listOf({ cniVersion: '1.1.0', name: 'n', plugins: [{ type: 'bridge' }] });
    expect((await errorOf(addNetworkList(sb.cni, list, rt()))).message).toBe(
      `plugin type="bridge" failed (add): failed to find plugin "bridge" in path [${sb.binDir}]`,
    );
  });

  it('keeps one cache file per interface', async () => {
    const sb = sandbox();
    const answering = (address: string) =>
      listOf({ cniVersion: '1.1.0', name: 'cachetest', plugins: [noop(sb, { result: { cniVersion: '1.1.0', ips: [{ address }] } })] });
    await addNetworkList(sb.cni, answering('10.1.2.3/24'), rt({ ifName: 'eth0' }));
    await addNetworkList(sb.cni, answering('10.1.2.4/24'), rt({ ifName: 'eth1' }));
    expect(fs.readdirSync(path.join(sb.cacheDir, 'results')).sort()).toEqual([
      'cachetest-some-container-id-eth0',
      'cachetest-some-container-id-eth1',
    ]);
    const read = (ifName: string) => JSON.parse(fs.readFileSync(sb.cacheFile('cachetest', rt({ ifName })), 'utf8'));
    expect(read('eth0')).toMatchObject({ kind: 'cniCacheV1', ifName: 'eth0', result: { ips: [{ address: '10.1.2.3/24' }] } });
    expect(read('eth1')).toMatchObject({ kind: 'cniCacheV1', ifName: 'eth1', result: { ips: [{ address: '10.1.2.4/24' }] } });
  });

  it("passes a successful plugin's stderr on", async () => {
    const sb = sandbox();
    const seen: string[] = [];
    const list = listOf({ cniVersion: '1.1.0', name: 'n', plugins: [noop(sb, { result: ipResult, stderr: 'a note\n' })] });
    await addNetworkList({ ...sb.cni, stderr: (t) => void seen.push(t) }, list, rt());
    expect(seen.join('')).toBe('a note\n');
  });
});

describe('CHECK', () => {
  it('is refused below 0.4.0 without running anything', async () => {
    const sb = sandbox();
    const err = await errorOf(checkNetworkList(sb.cni, threePlugins(sb, '0.3.1'), rt()));
    expect(err.message).toBe('configuration version "0.3.1" does not support the CHECK command');
    expect(sb.calls()).toEqual([]);
  });

  it('runs nothing with disableCheck', async () => {
    const sb = sandbox();
    await checkNetworkList(sb.cni, threePlugins(sb, '1.1.0', { disableCheck: true }), rt());
    expect(sb.calls()).toEqual([]);
  });

  it('gives every plugin, in order, the cached result as prevResult', async () => {
    const sb = sandbox();
    const list = threePlugins(sb);
    const added = await addNetworkList(sb.cni, list, rt());
    fs.rmSync(sb.log);
    await checkNetworkList(sb.cni, list, rt());
    expect(markers(sb)).toEqual(['CHECK1', 'CHECK2', 'CHECK3']);
    for (const c of sb.calls()) expect(c.conf.prevResult).toEqual(added);
  });

  it('reads a legacy bare result from the cache too', async () => {
    const sb = sandbox();
    fs.mkdirSync(path.join(sb.cacheDir, 'results'), { recursive: true });
    fs.writeFileSync(sb.cacheFile('some-list', rt()), JSON.stringify(ipResult));
    await checkNetworkList(sb.cni, threePlugins(sb), rt());
    for (const c of sb.calls()) expect(c.conf.prevResult).toEqual(ipResult);
  });

  it('runs without prevResult when nothing is cached', async () => {
    const sb = sandbox();
    await checkNetworkList(sb.cni, threePlugins(sb), rt());
    expect(sb.calls()).toHaveLength(3);
    for (const c of sb.calls()) expect(c.conf).not.toHaveProperty('prevResult');
  });

  it('names the network whose cache is broken', async () => {
    const sb = sandbox();
    fs.mkdirSync(path.join(sb.cacheDir, 'results'), { recursive: true });
    fs.writeFileSync(sb.cacheFile('some-list', rt()), 'adfadsfasdfasfdsafaf');
    const err = await errorOf(checkNetworkList(sb.cni, threePlugins(sb), rt()));
    expect(err.message).toBe(
      `failed to get network "some-list" cached result: decoding version from network config: invalid character 'a' looking for beginning of value`,
    );
    expect(sb.calls()).toEqual([]);
  });

  it('converts a cached 0.3.1 result to the config version', async () => {
    const sb = sandbox();
    fs.mkdirSync(path.join(sb.cacheDir, 'results'), { recursive: true });
    fs.writeFileSync(sb.cacheFile('some-list', rt()), '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}');
    await checkNetworkList(sb.cni, threePlugins(sb), rt());
    expect(sb.calls()[0]!.conf.prevResult).toEqual(ipResult);
  });

  it('refuses a cached result of an unknown version', async () => {
    const sb = sandbox();
    fs.mkdirSync(path.join(sb.cacheDir, 'results'), { recursive: true });
    fs.writeFileSync(sb.cacheFile('some-list', rt()), '{"cniVersion":"0.4567.0"}');
    expect((await errorOf(checkNetworkList(sb.cni, threePlugins(sb), rt()))).message).toBe(
      'failed to get network "some-list" cached result: unsupported CNI result version "0.4567.0"',
    );
  });

  it("returns the first plugin error as it is, code and all", async () => {
    const sb = sandbox();
    const list = listOf({
      cniVersion: '1.1.0',
      name: 'n',
      plugins: [noop(sb, { error: { code: 11, msg: 'try again', details: 'later' } }), noop(sb)],
    });
    const err = await errorOf(checkNetworkList(sb.cni, list, rt()));
    expect(err.message).toBe('try again; later');
    expect(err.code).toBe(11);
    expect(sb.calls()).toHaveLength(1);
  });
});

describe('DEL', () => {
  it('runs the plugins in reverse, each with the cached result, then drops the cache', async () => {
    const sb = sandbox();
    const list = threePlugins(sb, '0.4.0');
    const added = await addNetworkList(sb.cni, list, rt());
    fs.rmSync(sb.log);
    await delNetworkList(sb.cni, list, rt());
    expect(markers(sb)).toEqual(['DEL3', 'DEL2', 'DEL1']);
    for (const c of sb.calls()) expect(c.conf.prevResult).toEqual(added);
    expect(fs.existsSync(sb.cacheFile('some-list', rt()))).toBe(false);
  });

  it('sends no prevResult below 0.4.0', async () => {
    const sb = sandbox();
    const list = threePlugins(sb, '0.3.1');
    await addNetworkList(sb.cni, list, rt());
    fs.rmSync(sb.log);
    await delNetworkList(sb.cni, list, rt());
    for (const c of sb.calls()) expect(c.conf).not.toHaveProperty('prevResult');
  });

  it.each([['adfadsfasdfasfdsafaf'], ['{"cniVersion":"0.4567.0"}']])('tolerates a broken cache (%s) and deletes it', async (text) => {
    const sb = sandbox();
    fs.mkdirSync(path.join(sb.cacheDir, 'results'), { recursive: true });
    fs.writeFileSync(sb.cacheFile('some-list', rt()), text);
    await delNetworkList(sb.cni, threePlugins(sb), rt());
    expect(sb.calls()).toHaveLength(3);
    for (const c of sb.calls()) expect(c.conf).not.toHaveProperty('prevResult');
    expect(fs.existsSync(sb.cacheFile('some-list', rt()))).toBe(false);
  });

  it('succeeds a second time, without prevResult', async () => {
    const sb = sandbox();
    const list = threePlugins(sb);
    await addNetworkList(sb.cni, list, rt());
    await delNetworkList(sb.cni, list, rt());
    fs.rmSync(sb.log);
    await delNetworkList(sb.cni, list, rt());
    expect(sb.calls()).toHaveLength(3);
    for (const c of sb.calls()) expect(c.conf).not.toHaveProperty('prevResult');
  });

  it('stops at the first failure, wraps it, and keeps the cache', async () => {
    const sb = sandbox();
    const list = listOf({
      cniVersion: '1.1.0',
      name: 'some-list',
      plugins: [noop(sb, { result: ipResult }, { marker: 1 }), noop(sb, { error: { code: 7, msg: 'plugin error: banana' }, errorOn: ['DEL'] }, { marker: 2 }), noop(sb, {}, { marker: 3 })],
    });
    await addNetworkList(sb.cni, list, rt());
    fs.rmSync(sb.log);
    const err = await errorOf(delNetworkList(sb.cni, list, rt()));
    expect(err.message).toBe('plugin type="noop" failed (delete): plugin error: banana');
    expect(markers(sb)).toEqual(['DEL3', 'DEL2']);
    expect(fs.existsSync(sb.cacheFile('some-list', rt()))).toBe(true);
  });

  it('uses the capability args of the DEL call, not the cached ones', async () => {
    const sb = sandbox();
    const list = listOf({ cniVersion: '1.1.0', name: 'n', plugins: [noop(sb, { result: ipResult }, { capabilities: { mac: true } })] });
    await addNetworkList(sb.cni, list, rt({ capabilityArgs: { mac: 'c2:00:00:00:00:01' } }));
    fs.rmSync(sb.log);
    await delNetworkList(sb.cni, list, rt({ capabilityArgs: { mac: 'c2:00:00:00:00:02' } }));
    expect(sb.calls()[0]!.conf.runtimeConfig).toEqual({ mac: 'c2:00:00:00:00:02' });
  });
});

describe('GC', () => {
  const gcList = (sb: Sandbox, extra: Record<string, unknown> = {}) =>
    listOf({ cniVersion: '1.1.0', name: 'gctest', plugins: [noop(sb, { result: ipResult })], ...extra });
  const attachment = { containerID: 'some-container-id', ifname: 'some-eth0' };

  it('does nothing with disableGC', async () => {
    const sb = sandbox();
    const list = gcList(sb, { disableGC: true });
    await addNetworkList(sb.cni, list, rt());
    await gcNetworkList(sb.cni, list, { validAttachments: [] });
    expect(sb.calls().map((c) => c.command)).toEqual(['ADD']);
    expect(fs.existsSync(sb.cacheFile('gctest', rt()))).toBe(true);
  });

  it('keeps a valid attachment and tells the plugins about it', async () => {
    const sb = sandbox();
    const list = gcList(sb);
    await addNetworkList(sb.cni, list, rt());
    await gcNetworkList(sb.cni, list, { validAttachments: [attachment] });
    const calls = sb.calls();
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'GC']);
    expect(calls[1]!.conf).toMatchObject({
      name: 'gctest',
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [attachment],
      'cni.dev/attachments': [attachment],
    });
    expect(cniVars(calls[1]!.env)).toEqual({
      CNI_COMMAND: 'GC',
      CNI_CONTAINERID: '',
      CNI_NETNS: '',
      CNI_ARGS: '',
      CNI_IFNAME: '',
      CNI_PATH: sb.binDir,
    });
  });

  it('DELs a stale attachment with its cached runtime args, then GCs with an empty list', async () => {
    const sb = sandbox();
    const list = listOf({ cniVersion: '1.1.0', name: 'gctest', plugins: [noop(sb, { result: ipResult }, { capabilities: { mac: true } })] });
    await addNetworkList(sb.cni, list, rt({ args: [['K', 'V']], capabilityArgs: { mac: 'c2:00:00:00:00:01' } }));
    await gcNetworkList(sb.cni, list, { validAttachments: [] });
    const calls = sb.calls();
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'DEL', 'GC']);
    expect(cniVars(calls[1]!.env)).toMatchObject({ CNI_CONTAINERID: 'some-container-id', CNI_IFNAME: 'some-eth0', CNI_NETNS: '/some/netns/path', CNI_ARGS: 'K=V' });
    expect(calls[1]!.conf).toMatchObject({ prevResult: ipResult, runtimeConfig: { mac: 'c2:00:00:00:00:01' } });
    expect(calls[2]!.conf['cni.dev/valid-attachments']).toEqual([]);
    expect(fs.existsSync(sb.cacheFile('gctest', rt()))).toBe(false);
  });

  it('passes a null list on as null', async () => {
    const sb = sandbox();
    await gcNetworkList(sb.cni, gcList(sb), { validAttachments: null });
    const [call] = sb.calls();
    expect(call!.conf).toHaveProperty('cni.dev/valid-attachments', null);
  });

  it('without args DELs every attachment of the network and sends no attachment keys', async () => {
    const sb = sandbox();
    const list = gcList(sb);
    await addNetworkList(sb.cni, list, rt({ containerId: 'c1' }));
    await addNetworkList(sb.cni, list, rt({ containerId: 'c2' }));
    const other = listOf({ cniVersion: '1.1.0', name: 'other', plugins: [noop(sb, { result: ipResult })] });
    await addNetworkList(sb.cni, other, rt({ containerId: 'c3' }));
    fs.rmSync(sb.log);
    await gcNetworkList(sb.cni, list);
    const calls = sb.calls();
    expect(calls.map((c) => `${c.command} ${c.env.CNI_CONTAINERID}`)).toEqual(['DEL c1', 'DEL c2', 'GC ']);
    expect(Object.keys(calls[2]!.conf).filter((k) => k.startsWith('cni.dev/'))).toEqual([]);
    expect(fs.readdirSync(path.join(sb.cacheDir, 'results'))).toEqual(['other-c3-some-eth0']);
  });

  it('sends no GC below 1.1.0, but still DELs stale attachments', async () => {
    const sb = sandbox();
    const list = listOf({ cniVersion: '1.0.0', name: 'gctest', plugins: [noop(sb, { result: { ...ipResult, cniVersion: '1.0.0' } })] });
    await addNetworkList(sb.cni, list, rt());
    await gcNetworkList(sb.cni, list);
    expect(sb.calls().map((c) => c.command)).toEqual(['ADD', 'DEL']);
  });

  it('collects every error, one per line', async () => {
    const sb = sandbox();
    const list = listOf({
      cniVersion: '1.1.0',
      name: 'gctest',
      plugins: [noop(sb, { result: ipResult, error: { code: 7, msg: 'nope' }, errorOn: ['DEL', 'GC'] }), { type: 'missing' }],
    });
    await addNetworkList(sb.cni, listOf({ cniVersion: '1.1.0', name: 'gctest', plugins: [noop(sb, { result: ipResult })] }), rt());
    const err = await errorOf(gcNetworkList(sb.cni, list));
    expect(err.message).toBe(
      [
        `failed to delete stale attachment some-container-id some-eth0: plugin type="missing" failed (delete): failed to find plugin "missing" in path [${sb.binDir}]`,
        'failed to GC plugin noop: nope',
        `failed to GC plugin missing: failed to find plugin "missing" in path [${sb.binDir}]`,
      ].join('\n'),
    );
  });
});

describe('STATUS', () => {
  it('runs each plugin in order with name and version only', async () => {
    const sb = sandbox();
    await getStatusNetworkList(sb.cni, threePlugins(sb));
    const calls = sb.calls();
    expect(markers(sb)).toEqual(['STATUS1', 'STATUS2', 'STATUS3']);
    expect(calls[0]!.conf).toEqual({ ...noop(sb, { result: ipResult }, { marker: 1 }), name: 'some-list', cniVersion: '1.1.0' });
    expect(cniVars(calls[0]!.env)).toMatchObject({ CNI_COMMAND: 'STATUS', CNI_CONTAINERID: '', CNI_PATH: sb.binDir });
  });

  it('returns the first error with its code and stops there', async () => {
    const sb = sandbox();
    const list = listOf({
      cniVersion: '1.1.0',
      name: 'n',
      plugins: [noop(sb, {}, { marker: 1 }), noop(sb, { error: { code: 50, msg: 'plugin not available' } }, { marker: 2 }), noop(sb, {}, { marker: 3 })],
    });
    const err = await errorOf(getStatusNetworkList(sb.cni, list));
    expect(err).toBeInstanceOf(CniError);
    expect(err.code).toBe(50);
    expect(err.message).toBe('plugin not available');
    expect(markers(sb)).toEqual(['STATUS1', 'STATUS2']);
  });

  it('is a no-op below 1.1.0', async () => {
    const sb = sandbox();
    await getStatusNetworkList(sb.cni, threePlugins(sb, '1.0.0'));
    expect(sb.calls()).toEqual([]);
  });
});

describe('validate', () => {
  it('returns the capabilities the list enables', async () => {
    const sb = sandbox();
    const list = listOf({
      cniVersion: '1.1.0',
      name: 'n',
      plugins: [
        noop(sb, {}, { capabilities: { portMappings: true, somethingElse: true, noCapability: false } }),
        noop(sb, {}, { capabilities: { portMappings: true } }),
      ],
    });
    expect((await validateNetworkList(sb.cni, list)).sort()).toEqual(['portMappings', 'somethingElse']);
  });

  it('reports every missing plugin and unsupported version together', async () => {
    const sb = sandbox();
    writeNoop(sb.binDir, 'old', ['0.1.0', '0.2.0']);
    const list = listOf({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'nope' }, { type: 'old' }, { type: 'noop' }] });
    expect((await errorOf(validateNetworkList(sb.cni, list))).message).toBe(
      `[failed to find plugin "nope" in path [${sb.binDir}] plugin old does not support config version "1.0.0"]`,
    );
  });

  it('refuses a version no plugin knows, and takes an empty one as 0.1.0', async () => {
    const sb = sandbox();
    const plugins = [noop(sb)];
    expect((await errorOf(validateNetworkList(sb.cni, listOf({ cniVersion: 'broken', name: 'n', plugins })))).message).toBe(
      '[plugin noop does not support config version "broken"]',
    );
    await expect(validateNetworkList(sb.cni, listOf({ name: 'n', plugins }))).resolves.toEqual([]);
  });
});

describe('a loaded list', () => {
  it('caches the conflist file bytes as they are on disk', async () => {
    const sb = sandbox();
    const text = `{\n  "cniVersion": "1.1.0", "name": "ondisk",\n  "plugins": [${JSON.stringify(noop(sb, { result: ipResult }))}]\n}\n`;
    sb.writeConf('10-ondisk.conflist', text);
    await addNetworkList(sb.cni, loadNetworkConf(sb.confDir, 'ondisk'), rt());
    const cached = JSON.parse(fs.readFileSync(sb.cacheFile('ondisk', rt()), 'utf8'));
    expect(Buffer.from(cached.config, 'base64').toString()).toBe(text);
  });
});
