import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerIdFor, parseCapArgs, parseCniArgs, usage } from '../../src/cnitool/cli.ts';
import { cnitoolMain } from '../../src/cnitool/index.ts';
import { run } from '../helpers/run.ts';
import { cniBin } from '../helpers/tmp.ts';
import { cniVars, noop, type Sandbox, sandbox } from './fixtures.ts';

// The built `cnitool` executable, used the way an operator uses upstream
// cnitool 1.3 (cni-spec.md §3).

const cnitool = path.join(cniBin, 'cnitool');

function envFor(sb: Sandbox, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...sb.env, NETCONFPATH: sb.confDir, CNI_PATH: sb.binDir, CNI_CACHE_DIR: sb.cacheDir, ...extra };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

const ipResult = { cniVersion: '1.1.0', ips: [{ address: '10.1.2.3/24' }] };

function withNetwork(sb: Sandbox, plugins: object[] = [noop(sb, { result: ipResult })], version = '1.1.0') {
  sb.writeConf('10-mynet.conflist', { cniVersion: version, name: 'mynet', plugins });
}

describe('cnitool arguments', () => {
  it('prints the usage on stderr and exits 1 with fewer than three arguments', async () => {
    const sb = sandbox();
    for (const args of [[], ['add'], ['add', 'mynet']]) {
      const r = await run(cnitool, args, { env: envFor(sb) });
      expect(r).toEqual({ code: 1, stdout: '', stderr: usage('cnitool') });
    }
    expect(usage('cnitool')).toBe(
      'cnitool: Add, check, remove, gc or status network interfaces from a network namespace\n' +
        '  cnitool add    <net> <netns>\n' +
        '  cnitool check  <net> <netns>\n' +
        '  cnitool del    <net> <netns>\n' +
        '  cnitool gc     <net> <netns>\n' +
        '  cnitool status <net> <netns>\n' +
        "weft's additions:\n" +
        '  cnitool attachments <net>   list the attachments of <net> on this node: container, addresses, namespace, alive or dead\n' +
        "  cnitool reclaim     <net>   DEL the attachments of <net> whose pod's network namespace is gone\n",
    );
  });

  it('names an unknown network and the directory it searched', async () => {
    const sb = sandbox();
    withNetwork(sb);
    const r = await run(cnitool, ['add', 'x', '/run/netns/a'], { env: envFor(sb) });
    expect(r).toEqual({ code: 1, stdout: '', stderr: `no net configuration with name "x" in ${sb.confDir}\n` });
  });

  it('reads /etc/cni/net.d when NETCONFPATH is unset or empty', async () => {
    const sb = sandbox();
    for (const NETCONFPATH of [undefined, '']) {
      const r = await run(cnitool, ['add', 'weft-no-such-network', '/run/netns/a'], { env: envFor(sb, { NETCONFPATH }) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^no net configurations? (found in|with name "weft-no-such-network" in) \/etc\/cni\/net\.d\n$/);
    }
  });

  it('does nothing and succeeds on an unknown verb, as upstream 1.3 does, once the network loads', async () => {
    const sb = sandbox();
    withNetwork(sb);
    expect(await run(cnitool, ['frobnicate', 'mynet', '/run/netns/a'], { env: envFor(sb) })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(sb.calls()).toEqual([]);
    expect((await run(cnitool, ['frobnicate', 'x', '/run/netns/a'], { env: envFor(sb) })).code).toBe(1);
  });
});

describe('cnitool add', () => {
  it('prints the final result indented by 4 spaces without a trailing newline', async () => {
    const sb = sandbox();
    withNetwork(sb);
    const r = await run(cnitool, ['add', 'mynet', '/var/run/netns/cnitest'], { env: envFor(sb) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(JSON.stringify(ipResult, null, 4));
    expect(r.stderr).toBe('');
  });

  it('prints the result in the version the last plugin answered in', async () => {
    const sb = sandbox();
    const old = { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.2.3/24' }], dns: {} };
    withNetwork(sb, [noop(sb, { result: old })]);
    const r = await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env: envFor(sb) });
    expect(r.stdout).toBe(JSON.stringify(old, null, 4));
  });

  it('derives the container ID from the absolute netns path, and passes the runtime environment', async () => {
    const sb = sandbox();
    withNetwork(sb);
    const env = envFor(sb, { CNI_ARGS: 'FOO=BAR;K=V', CNI_CONTAINERID: 'ignored', CNI_COMMAND: 'ignored' });
    expect((await run(cnitool, ['add', 'mynet', '/var/run/netns/cnitest'], { env })).code).toBe(0);
    const [call] = sb.calls();
    expect(cniVars(call!.env)).toEqual({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'cnitool-20c433bb2b1d6ede56d6',
      CNI_NETNS: '/var/run/netns/cnitest',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'FOO=BAR;K=V',
      CNI_PATH: sb.binDir,
      CNI_CACHE_DIR: sb.cacheDir,
    });
    // Plugins inherit cnitool's whole environment, as libcni passes os.Environ().
    expect(call!.env).toMatchObject({ NETCONFPATH: sb.confDir, SANDBOX_MARKER: 'inherited' });
    expect(fs.existsSync(sb.cacheFile('mynet', { containerId: 'cnitool-20c433bb2b1d6ede56d6', ifName: 'eth0' }))).toBe(true);
  });

  it('makes a relative netns path absolute', async () => {
    const sb = sandbox();
    withNetwork(sb);
    const cwd = fs.realpathSync(sb.root);
    expect((await run(cnitool, ['add', 'mynet', 'netns/x/../cnitest'], { env: envFor(sb), cwd })).code).toBe(0);
    const netns = path.join(cwd, 'netns', 'cnitest');
    expect(cniVars(sb.calls()[0]!.env)).toMatchObject({ CNI_NETNS: netns, CNI_CONTAINERID: containerIdFor(netns) });
  });

  it('uses CNI_IFNAME, and refuses one that is set but empty', async () => {
    const sb = sandbox();
    withNetwork(sb);
    expect((await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env: envFor(sb, { CNI_IFNAME: 'net1' }) })).code).toBe(0);
    expect(sb.calls()[0]!.env.CNI_IFNAME).toBe('net1');
    const r = await run(cnitool, ['add', 'mynet', '/run/netns/b'], { env: envFor(sb, { CNI_IFNAME: '' }) });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'plugin type="noop" failed (add): interface name is empty\n' });
  });

  it('gives CAP_ARGS to the plugins that declare those capabilities', async () => {
    const sb = sandbox();
    withNetwork(sb, [
      noop(sb, { result: ipResult }, { capabilities: { portMappings: true } }),
      noop(sb, { result: 'PASSTHROUGH' }, { capabilities: { bandwidth: true } }),
    ]);
    const capArgs = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], mac: 'c2:11:22:33:44:55' };
    expect((await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env: envFor(sb, { CAP_ARGS: JSON.stringify(capArgs) }) })).code).toBe(0);
    const [first, second] = sb.calls();
    expect(first!.conf.runtimeConfig).toEqual({ portMappings: capArgs.portMappings });
    expect(first!.conf.capabilities).toEqual({ portMappings: true });
    expect(second!.conf).not.toHaveProperty('runtimeConfig');
  });

  it.each([
    ['FOO', 'invalid CNI_ARGS pair "FOO"'],
    ['A=B;', 'invalid CNI_ARGS pair ""'],
    ['A=', 'invalid CNI_ARGS pair "A="'],
    ['=B', 'invalid CNI_ARGS pair "=B"'],
    ['A=B=C', 'invalid CNI_ARGS pair "A=B=C"'],
  ])('refuses CNI_ARGS %j', async (CNI_ARGS, message) => {
    const sb = sandbox();
    withNetwork(sb);
    expect(await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env: envFor(sb, { CNI_ARGS }) })).toEqual({
      code: 1,
      stdout: '',
      stderr: `${message}\n`,
    });
    expect(sb.calls()).toEqual([]);
  });

  it('refuses CAP_ARGS that are not a JSON object, with the decoder message', async () => {
    const sb = sandbox();
    withNetwork(sb);
    const r = await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env: envFor(sb, { CAP_ARGS: '{"portMappings": ' }) });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'unexpected end of JSON input\n' });
  });

  it("reports the plugin's own error, and a plugin it cannot find", async () => {
    const sb = sandbox();
    withNetwork(sb, [noop(sb, { error: { code: 7, msg: 'bad config', details: 'field x' } })]);
    expect((await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env: envFor(sb) })).stderr).toBe(
      'plugin type="noop" failed (add): bad config; field x\n',
    );
    withNetwork(sb, [{ type: 'bridge' }]);
    expect((await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env: envFor(sb, { CNI_PATH: '/opt/cni/bin' }) })).stderr).toBe(
      'plugin type="bridge" failed (add): failed to find plugin "bridge" in path [/opt/cni/bin]\n',
    );
    expect((await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env: envFor(sb, { CNI_PATH: '' }) })).stderr).toBe(
      'plugin type="bridge" failed (add): no paths provided\n',
    );
  });
});

describe('cnitool check, del, gc, status', () => {
  it('checks and deletes quietly what it added, with the cached result', async () => {
    const sb = sandbox();
    withNetwork(sb);
    const env = envFor(sb);
    await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env });
    expect(await run(cnitool, ['check', 'mynet', '/run/netns/a'], { env })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await run(cnitool, ['del', 'mynet', '/run/netns/a'], { env })).toEqual({ code: 0, stdout: '', stderr: '' });
    const calls = sb.calls();
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'CHECK', 'DEL']);
    expect(calls[1]!.conf.prevResult).toEqual(ipResult);
    expect(calls[2]!.conf.prevResult).toEqual(ipResult);
    expect(fs.readdirSync(path.join(sb.cacheDir, 'results'))).toEqual([]);
  });

  it('refuses CHECK below 0.4.0', async () => {
    const sb = sandbox();
    withNetwork(sb, [noop(sb)], '0.3.1');
    expect(await run(cnitool, ['check', 'mynet', '/run/netns/a'], { env: envFor(sb) })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'configuration version "0.3.1" does not support the CHECK command\n',
    });
  });

  it('gc deletes every cached attachment of the network, then GCs without attachment keys', async () => {
    const sb = sandbox();
    withNetwork(sb);
    const env = envFor(sb);
    await run(cnitool, ['add', 'mynet', '/run/netns/a'], { env });
    await run(cnitool, ['add', 'mynet', '/run/netns/b'], { env });
    fs.rmSync(sb.log);
    expect(await run(cnitool, ['gc', 'mynet', '/run/netns/a'], { env })).toEqual({ code: 0, stdout: '', stderr: '' });
    const calls = sb.calls();
    expect(calls.map((c) => `${c.command} ${c.env.CNI_NETNS}`).sort()).toEqual(['DEL /run/netns/a', 'DEL /run/netns/b', 'GC ']);
    expect(Object.keys(calls.at(-1)!.conf).filter((k) => k.startsWith('cni.dev/'))).toEqual([]);
    expect(fs.readdirSync(path.join(sb.cacheDir, 'results'))).toEqual([]);
  });

  it('status runs STATUS from 1.1.0 on and reports a plugin error with exit 1', async () => {
    const sb = sandbox();
    withNetwork(sb, [noop(sb, { error: { code: 50, msg: 'plugin not available' } })]);
    expect(await run(cnitool, ['status', 'mynet', '/run/netns/a'], { env: envFor(sb) })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'plugin not available\n',
    });
    withNetwork(sb, [noop(sb, { error: { code: 50, msg: 'plugin not available' } })], '1.0.0');
    expect(await run(cnitool, ['status', 'mynet', '/run/netns/a'], { env: envFor(sb) })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(sb.calls().map((c) => c.command)).toEqual(['STATUS']);
  });
});

describe('cnitoolMain in process', () => {
  it('runs like the executable with a given environment, exec-ing the plugins', async () => {
    const sb = sandbox();
    withNetwork(sb);
    let stdout = '';
    let stderr = '';
    const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) };
    const env = envFor(sb) as Record<string, string>;
    expect(await cnitoolMain(['add', 'mynet', '/run/netns/a'], io, { env })).toBe(0);
    expect(stdout).toBe(JSON.stringify(ipResult, null, 4));
    expect(await cnitoolMain(['del', 'mynet', '/run/netns/a'], io, { env })).toBe(0);
    expect(await cnitoolMain(['del', 'x', '/run/netns/a'], io, { env })).toBe(1);
    expect(stderr).toBe(`no net configuration with name "x" in ${sb.confDir}\n`);
    expect(sb.calls().map((c) => c.command)).toEqual(['ADD', 'DEL']);
  });
});

describe('cnitool helpers', () => {
  it('derives the container IDs of the upstream examples', () => {
    expect(containerIdFor('/var/run/netns/cnitest')).toBe('cnitool-20c433bb2b1d6ede56d6');
    expect(containerIdFor('/var/run/netns/testing')).toBe('cnitool-77383ca0a0715733ca6f');
    expect(containerIdFor('/run/netns/testing')).toBe('cnitool-43057b9dcc39fe733071');
  });

  it('parses CNI_ARGS into pairs, in order', () => {
    expect(parseCniArgs('')).toEqual([]);
    expect(parseCniArgs('B=2;A=1')).toEqual([
      ['B', '2'],
      ['A', '1'],
    ]);
  });

  it('reads CAP_ARGS null as none, and names a wrong JSON type', () => {
    expect(parseCapArgs('null')).toBeUndefined();
    expect(() => parseCapArgs('[1]')).toThrow('json: cannot unmarshal array into Go value of type map[string]interface {}');
  });
});
