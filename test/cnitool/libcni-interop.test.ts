import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { containerIdFor } from '../../src/cnitool/cli.ts';
import { run } from '../helpers/run.ts';
import { cniBin } from '../helpers/tmp.ts';
import { cniVars, noop, type Sandbox, sandbox } from './fixtures.ts';
import { libcniClient } from './libcni-client.ts';

// weft's cnitool and a runtime built on the real Go libcni (1.1.2, from
// Debian) share one result cache: each CHECKs and DELs what the other added.
// The plugins are the reference host-local (from /usr/lib/cni) and the
// recording test plugin, so this runs without root.

const cnitool = path.join(cniBin, 'cnitool');
const REFERENCE_BIN = '/usr/lib/cni';
const netns = '/var/run/netns/weft-interop';
const containerId = containerIdFor(netns);

let client: string;
beforeAll(() => {
  client = libcniClient();
});

interface Setup {
  sb: Sandbox;
  env: NodeJS.ProcessEnv;
  ipamDir: string;
}

/** A list of the reference host-local then the test plugin passing its result through. */
function hostLocalNetwork(): Setup {
  const sb = sandbox();
  const ipamDir = path.join(sb.root, 'ipam');
  sb.writeConf('10-interop.conflist', {
    cniVersion: '1.0.0',
    name: 'interop',
    plugins: [
      { type: 'host-local', ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/24' }]], dataDir: ipamDir } },
      noop(sb, { result: 'PASSTHROUGH' }, { capabilities: { mac: true } }),
    ],
  });
  const env = {
    ...sb.env,
    NETCONFPATH: sb.confDir,
    CNI_PATH: `${sb.binDir}:${REFERENCE_BIN}`,
    CNI_CACHE_DIR: sb.cacheDir,
  };
  return { sb, env, ipamDir };
}

const goClient = (verb: string, s: Setup, extra: NodeJS.ProcessEnv = {}) =>
  run(client, [verb, s.sb.confDir, 'interop', containerId, netns, 'eth0'], { env: { ...s.env, ...extra } });

const weft = (verb: string, s: Setup, extra: NodeJS.ProcessEnv = {}) => run(cnitool, [verb, 'interop', netns], { env: { ...s.env, ...extra } });

const leases = (s: Setup) => {
  const dir = path.join(s.ipamDir, 'interop');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
};

const cacheFile = (s: Setup) => s.sb.cacheFile('interop', { containerId, ifName: 'eth0' });

/** libcni 1.1.2 marshals a 1.x result as a struct, so an empty dns shows up as {}; later versions omit it. */
function withoutEmptyDns(doc: unknown): unknown {
  const r = { ...(doc as Record<string, unknown>) };
  if (r.dns !== undefined && Object.keys(r.dns as object).length === 0) delete r.dns;
  return r;
}

function expectOk(r: { code: number | null; stderr: string }): void {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

describe('cache interop with Go libcni', () => {
  it('libcni CHECKs and DELs what weft cnitool added', async () => {
    const s = hostLocalNetwork();
    const added = await weft('add', s);
    expectOk(added);
    const result = JSON.parse(added.stdout);
    expect(result.ips).toEqual([{ address: '10.88.0.2/24', gateway: '10.88.0.1' }]);
    expect(leases(s)).toEqual(['10.88.0.2']);

    expectOk(await goClient('check', s));
    expectOk(await goClient('del', s));
    expect(leases(s)).toEqual([]);
    expect(fs.existsSync(cacheFile(s))).toBe(false);

    const calls = s.sb.calls();
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'CHECK', 'DEL']);
    // libcni found weft's cached result and handed it to every plugin as prevResult.
    expect(withoutEmptyDns(calls[1]!.conf.prevResult)).toEqual(result);
    expect(withoutEmptyDns(calls[2]!.conf.prevResult)).toEqual(result);
  });

  it('weft cnitool CHECKs and DELs what libcni added', async () => {
    const s = hostLocalNetwork();
    const added = await goClient('add', s);
    expectOk(added);
    const result = withoutEmptyDns(JSON.parse(added.stdout));
    expect(leases(s)).toEqual(['10.88.0.2']);

    expectOk(await weft('check', s));
    expectOk(await weft('del', s));
    expect(leases(s)).toEqual([]);
    expect(fs.existsSync(cacheFile(s))).toBe(false);

    const calls = s.sb.calls();
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'CHECK', 'DEL']);
    expect(calls[1]!.conf.prevResult).toEqual(result);
    expect(calls[2]!.conf.prevResult).toEqual(result);
  });

  it("weft cnitool gc deletes libcni's attachment with the CNI args and capability args libcni cached", async () => {
    const s = hostLocalNetwork();
    const runtimeArgs = { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web', CAP_ARGS: '{"mac":"c2:11:22:33:44:55"}' };
    expectOk(await goClient('add', s, runtimeArgs));
    expect(leases(s)).toEqual(['10.88.0.2']);

    // gc itself is run with neither: what the DEL gets must come from libcni's cache file.
    expectOk(await weft('gc', s));
    expect(leases(s)).toEqual([]);
    const del = s.sb.calls().find((c) => c.command === 'DEL')!;
    // libcni 1.1.2 does not cache the netns (1.2 and weft do), so this DEL has none, as it would from libcni 1.2.
    expect(cniVars(del.env)).toMatchObject({ CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web', CNI_CONTAINERID: containerId, CNI_NETNS: '' });
    expect(del.conf.runtimeConfig).toEqual({ mac: 'c2:11:22:33:44:55' });
  });

  it("libcni reads back weft's cached config, CNI args and capability args", async () => {
    const s = hostLocalNetwork();
    const runtimeArgs = { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web', CAP_ARGS: '{"mac":"c2:11:22:33:44:55","other":[1]}' };
    const added = await weft('add', s, runtimeArgs);
    expectOk(added);
    const cached = await goClient('cached', s);
    expectOk(cached);
    const readBack = JSON.parse(cached.stdout);
    expect({ ...readBack, result: withoutEmptyDns(readBack.result) }).toEqual({
      result: JSON.parse(added.stdout),
      config: fs.readFileSync(path.join(s.sb.confDir, '10-interop.conflist'), 'utf8'),
      cniArgs: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'web'],
      ],
      capabilityArgs: { mac: 'c2:11:22:33:44:55', other: [1] },
    });
  });

  for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
    it(`writes the same cache bytes and plugin stdin as libcni (${version})`, async () => {
      const sb = sandbox();
      const result =
        version === '1.0.0'
          ? { cniVersion: version, interfaces: [{ name: 'eth0', sandbox: netns }], ips: [{ address: '10.1.2.3/24', gateway: '10.1.2.1', interface: 0 }], dns: { nameservers: ['10.0.0.10'] } }
          : { cniVersion: version, interfaces: [{ name: 'eth0', sandbox: netns }], ips: [{ version: '4', address: '10.1.2.3/24', gateway: '10.1.2.1', interface: 0 }], dns: {} };
      sb.writeConf('10-interop.conflist', {
        cniVersion: version,
        name: 'interop',
        plugins: [noop(sb, { result }, { capabilities: { portMappings: true } }), noop(sb, { result: 'INJECT-DNS' }, { zebra: { b: 1, a: 2 } })],
      });
      const s: Setup = {
        sb,
        ipamDir: '',
        env: {
          ...sb.env,
          NETCONFPATH: sb.confDir,
          CNI_PATH: sb.binDir,
          CNI_CACHE_DIR: sb.cacheDir,
          CNI_ARGS: 'FOO=BAR;B=2',
          CAP_ARGS: '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"unused":true}',
        },
      };

      const fromGo = await goClient('add', s);
      expectOk(fromGo);
      const goCache = fs.readFileSync(cacheFile(s), 'utf8');
      const goCalls = sb.calls();
      fs.rmSync(cacheFile(s));
      fs.rmSync(sb.log);

      const fromWeft = await weft('add', s);
      expectOk(fromWeft);
      const weftCalls = sb.calls();
      // libcni 1.1.2 does not cache the netns yet; from 1.2 on it does, as weft does.
      const goCacheWithNetns = goCache.replace('"networkName":"interop",', `"networkName":"interop","netns":"${netns}",`);
      expect(fs.readFileSync(cacheFile(s), 'utf8')).toBe(goCacheWithNetns);
      expect(weftCalls.map((c) => cniVars(c.env))).toEqual(goCalls.map((c) => cniVars(c.env)));
      if (version === '1.0.0') {
        // libcni 1.1.2 prints 1.x results in struct field order; from 1.2 on they go through
        // a map (keys sorted), which weft follows. The documents are the same.
        expect(JSON.parse(fromWeft.stdout)).toEqual(JSON.parse(fromGo.stdout));
        expect(weftCalls.map((c) => c.conf)).toEqual(goCalls.map((c) => c.conf));
      } else {
        expect(fromWeft.stdout).toBe(fromGo.stdout);
        expect(weftCalls.map((c) => c.stdin)).toEqual(goCalls.map((c) => c.stdin));
      }
    });
  }
});
