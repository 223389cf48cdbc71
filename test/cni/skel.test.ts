import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CniError } from '../../src/cni/errors.ts';
import type { Env } from '../../src/cni/env.ts';
import { type Plugin, type Verb, runPlugin } from '../../src/cni/skel.ts';

// The dispatcher cases of Go's pkg/skel tests (cni-spec.md §4.1), run
// against weft's protocol frame.

const BASE_ENV: Env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'some-container-id',
  CNI_NETNS: '/some/netns/path',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'some;extra;args',
  CNI_PATH: '/some/cni/path',
};
const BASE_STDIN = '{"name":"skel-test","some":"config","cniVersion":"9.8.7"}';

interface Call {
  verb: string;
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
}

function testPlugin(overrides: Partial<Plugin> = {}) {
  const calls: Call[] = [];
  const record =
    (verb: string): Verb =>
    (a) => {
      calls.push({ verb, containerId: a.containerId, netns: a.netns, ifName: a.ifName, args: a.args, path: a.path });
    };
  const plugin: Plugin = {
    type: 'test',
    about: '',
    versions: ['9.8.7', '10.0.0'],
    add: record('ADD'),
    check: record('CHECK'),
    del: record('DEL'),
    gc: record('GC'),
    status: record('STATUS'),
    ...overrides,
  };
  return { plugin, calls };
}

async function run(plugin: Plugin, env: Env, stdin: string | (() => Buffer) = BASE_STDIN) {
  let stdinReads = 0;
  let stderr = '';
  const outcome = await runPlugin(plugin, {
    env,
    readStdin: () => {
      stdinReads++;
      return typeof stdin === 'function' ? stdin() : Buffer.from(stdin);
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  let error: { code: number; msg: string; details?: string } | undefined;
  if (outcome.exitCode !== 0) {
    try {
      error = JSON.parse(outcome.stdout);
    } catch {
      // a result followed by an error; the test reads stdout itself
    }
  }
  return { ...outcome, stderr, stdinReads, error };
}

const without = (env: Env, ...names: string[]): Env =>
  Object.fromEntries(Object.entries(env).filter(([k]) => !names.includes(k)));

describe('environment', () => {
  it('passes the CNI_* values to the verb', async () => {
    const { plugin, calls } = testPlugin();
    const r = await run(plugin, BASE_ENV);
    expect(r.exitCode).toBe(0);
    expect(calls).toEqual([
      { verb: 'ADD', containerId: 'some-container-id', netns: '/some/netns/path', ifName: 'eth0', args: 'some;extra;args', path: '/some/cni/path' },
    ]);
  });

  for (const cmd of ['ADD', 'CHECK']) {
    for (const name of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']) {
      it(`${cmd} without ${name} fails with code 4 naming it`, async () => {
        const { plugin, calls } = testPlugin();
        const stdin = cmd === 'CHECK' ? '{"name":"skel-test","cniVersion":"9.8.7"}' : BASE_STDIN;
        const r = await run(plugin, { ...without(BASE_ENV, name), CNI_COMMAND: cmd }, stdin);
        expect(r.error).toEqual({ code: 4, msg: `required env variables [${name}] missing` });
        expect(calls).toEqual([]);
      });
    }
  }

  it('does not require CNI_ARGS', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, without(BASE_ENV, 'CNI_ARGS'))).exitCode).toBe(0);
  });

  it('lists every missing variable in scan order', async () => {
    const { plugin } = testPlugin();
    const r = await run(plugin, without(BASE_ENV, 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'));
    expect(r.error).toEqual({ code: 4, msg: 'required env variables [CNI_NETNS,CNI_IFNAME,CNI_PATH] missing' });
  });

  it('treats an empty variable as missing', async () => {
    const { plugin } = testPlugin();
    const r = await run(plugin, { ...BASE_ENV, CNI_PATH: '' });
    expect(r.error?.msg).toBe('required env variables [CNI_PATH] missing');
  });

  it('DEL needs neither CNI_NETNS nor CNI_ARGS', async () => {
    const { plugin, calls } = testPlugin();
    const r = await run(plugin, { ...without(BASE_ENV, 'CNI_NETNS', 'CNI_ARGS'), CNI_COMMAND: 'DEL' });
    expect(r.exitCode).toBe(0);
    expect(calls.map((c) => c.verb)).toEqual(['DEL']);
  });

  for (const name of ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH']) {
    it(`DEL without ${name} fails`, async () => {
      const { plugin } = testPlugin();
      const r = await run(plugin, { ...without(BASE_ENV, name), CNI_COMMAND: 'DEL' });
      expect(r.error).toEqual({ code: 4, msg: `required env variables [${name}] missing` });
    });
  }

  it('GC needs only CNI_COMMAND and CNI_PATH', async () => {
    const { plugin, calls } = testPlugin({ versions: ['1.1.0'] });
    const env = { CNI_COMMAND: 'GC', CNI_PATH: '/x', CNI_CONTAINERID: '', CNI_IFNAME: '', CNI_NETNS: '' };
    const r = await run(plugin, env, '{"name":"n","cniVersion":"1.1.0"}');
    expect(r.exitCode).toBe(0);
    expect(calls.map((c) => c.verb)).toEqual(['GC']);
    const missing = await run(plugin, { CNI_COMMAND: 'GC' }, '{"name":"n","cniVersion":"1.1.0"}');
    expect(missing.error).toEqual({ code: 4, msg: 'required env variables [CNI_PATH] missing' });
  });

  it('STATUS needs only CNI_COMMAND and CNI_PATH', async () => {
    const { plugin, calls } = testPlugin({ versions: ['1.1.0'] });
    const r = await run(plugin, { CNI_COMMAND: 'STATUS', CNI_PATH: '/x' }, '{"name":"n","cniVersion":"1.1.0"}');
    expect(r.exitCode).toBe(0);
    expect(calls.map((c) => c.verb)).toEqual(['STATUS']);
  });

  it('rejects an invalid container ID with code 4 and the ID as details', async () => {
    const { plugin, calls } = testPlugin();
    const r = await run(plugin, { ...BASE_ENV, CNI_CONTAINERID: 'some-%%container-id' });
    expect(r.error).toEqual({ code: 4, msg: 'invalid characters in containerID', details: 'some-%%container-id' });
    expect(calls).toEqual([]);
  });

  it('reports a validation error before variables found missing earlier', async () => {
    const { plugin } = testPlugin();
    const r = await run(plugin, { ...without(BASE_ENV, 'CNI_NETNS'), CNI_IFNAME: '1234567890123456' });
    expect(r.error).toEqual({
      code: 4,
      msg: 'interface name is too long',
      details: 'interface name should be less than 16 characters',
    });
  });

  for (const ifname of ['.', '..']) {
    it(`rejects interface name ${ifname}`, async () => {
      const { plugin } = testPlugin();
      expect((await run(plugin, { ...BASE_ENV, CNI_IFNAME: ifname })).error).toEqual({ code: 4, msg: 'interface name is . or ..' });
    });
  }

  for (const ifname of ['test/test', 'test:test', 'test test']) {
    it(`rejects interface name ${JSON.stringify(ifname)}`, async () => {
      const { plugin } = testPlugin();
      expect((await run(plugin, { ...BASE_ENV, CNI_IFNAME: ifname })).error).toEqual({
        code: 4,
        msg: 'interface name contains / or : or whitespace characters',
      });
    });
  }

  it('does not validate the container ID for GC', async () => {
    const { plugin } = testPlugin({ versions: ['1.1.0'] });
    const r = await run(plugin, { CNI_COMMAND: 'GC', CNI_PATH: '/x', CNI_CONTAINERID: '%%' }, '{"name":"n","cniVersion":"1.1.0"}');
    expect(r.exitCode).toBe(0);
  });
});

describe('VERSION', () => {
  it('needs only CNI_COMMAND, does not read stdin, and prints the library version', async () => {
    const { plugin } = testPlugin();
    const r = await run(plugin, { CNI_COMMAND: 'VERSION' }, () => {
      throw new Error('stdin must not be read');
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdinReads).toBe(0);
    expect(r.stdout).toBe('{"cniVersion":"1.1.0","supportedVersions":["9.8.7","10.0.0"]}\n');
  });
});

describe('missing CNI_COMMAND', () => {
  it('prints the about text and the versions to stderr and succeeds', async () => {
    const { plugin } = testPlugin({ about: 'AWESOME PLUGIN' });
    const r = await run(plugin, without(BASE_ENV, 'CNI_COMMAND'));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('AWESOME PLUGIN\nCNI protocol versions supported: 9.8.7, 10.0.0\n');
  });

  it('without an about text fails with code 4', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, without(BASE_ENV, 'CNI_COMMAND'))).error).toEqual({
      code: 4,
      msg: 'required env variables [CNI_COMMAND] missing',
    });
  });
});

describe('stdin and config', () => {
  it('reports a stdin read failure as code 5', async () => {
    const { plugin } = testPlugin();
    const r = await run(plugin, BASE_ENV, () => {
      throw new Error('banana');
    });
    expect(r.error).toEqual({ code: 5, msg: 'error reading from stdin: banana' });
  });

  it('reports empty stdin as a decoding failure', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, BASE_ENV, '')).error).toEqual({
      code: 6,
      msg: 'error unmarshall network config: unexpected end of JSON input',
    });
  });

  it('reports malformed JSON with the Go scanner message', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, BASE_ENV, '{"name": nope}')).error).toEqual({
      code: 6,
      msg: "error unmarshall network config: invalid character 'o' in literal null (expecting 'u')",
    });
  });

  it('requires a network name (code 7)', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, BASE_ENV, '{"cniVersion":"9.8.7"}')).error).toEqual({ code: 7, msg: 'missing network name' });
  });

  it('rejects invalid network names with the name as details', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, BASE_ENV, '{"name":"te%%st","cniVersion":"9.8.7"}')).error).toEqual({
      code: 7,
      msg: 'invalid characters found in network name',
      details: 'te%%st',
    });
  });

  it('reads the name key case-insensitively, like Go', async () => {
    const { plugin, calls } = testPlugin();
    expect((await run(plugin, BASE_ENV, '{"NAME":"ok","cniVersion":"9.8.7"}')).exitCode).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('rejects a non-string name as a decoding failure naming the field', async () => {
    const { plugin } = testPlugin();
    const r = await run(plugin, BASE_ENV, '{"name":5}');
    expect(r.error?.code).toBe(6);
    expect(r.error?.msg).toContain('field .name of type string');
  });

  it('validates the config even for an unknown command', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, { ...BASE_ENV, CNI_COMMAND: 'NOPE' }, '')).error?.code).toBe(6);
    expect((await run(plugin, { ...BASE_ENV, CNI_COMMAND: 'NOPE' })).error).toEqual({ code: 4, msg: 'unknown CNI_COMMAND: NOPE' });
  });
});

describe('version checks', () => {
  it('treats a config without cniVersion as 0.1.0', async () => {
    const { plugin, calls } = testPlugin({ versions: ['0.1.0'] });
    expect((await run(plugin, BASE_ENV, '{"name":"n"}')).exitCode).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('refuses a version the plugin does not list, without calling it', async () => {
    const { plugin, calls } = testPlugin({ versions: ['4.3.2'] });
    expect((await run(plugin, BASE_ENV, '{"name":"n"}')).error).toEqual({
      code: 1,
      msg: 'incompatible CNI versions',
      details: 'config is "0.1.0", plugin supports ["4.3.2"]',
    });
    expect(calls).toEqual([]);
  });

  const check = { ...BASE_ENV, CNI_COMMAND: 'CHECK' };
  it('CHECK below 0.4.0 is refused by the config version', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, check, '{"name":"n","cniVersion":"0.3.0"}')).error).toEqual({
      code: 1,
      msg: 'config version does not allow CHECK',
    });
  });

  it('CHECK is refused when no plugin version reaches the config version', async () => {
    const { plugin } = testPlugin({ versions: ['0.1.0', '0.2.0', '0.3.0'] });
    expect((await run(plugin, check, '{"name":"n","cniVersion":"0.4.0"}')).error).toEqual({
      code: 1,
      msg: 'plugin version does not allow CHECK',
    });
  });

  it('CHECK with an unparsable config version is a decoding failure', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, check, '{"name":"n","cniVersion":"adsfsadf"}')).error?.code).toBe(6);
  });

  it('CHECK with an unparsable plugin version is a decoding failure', async () => {
    const { plugin } = testPlugin({ versions: ['adsfasdf'] });
    expect((await run(plugin, check, '{"name":"n","cniVersion":"0.4.0"}')).error?.code).toBe(6);
  });

  it('CHECK with an invalid network name is code 7', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, check, '{"name":"te%%st","cniVersion":"0.4.0"}')).error?.code).toBe(7);
  });

  for (const cmd of ['GC', 'STATUS']) {
    const env = { CNI_COMMAND: cmd, CNI_PATH: '/x' };
    it(`${cmd} below 1.1.0 is refused by the config version`, async () => {
      const { plugin } = testPlugin({ versions: ['1.1.0'] });
      for (const v of ['0.3.0', '1.0.0']) {
        expect((await run(plugin, env, `{"name":"n","cniVersion":"${v}"}`)).error).toEqual({
          code: 1,
          msg: `config version does not allow ${cmd}`,
        });
      }
    });

    it(`${cmd} is refused when the plugin stops before 1.1.0`, async () => {
      const { plugin } = testPlugin({ versions: ['0.1.0', '0.3.0'] });
      expect((await run(plugin, env, '{"name":"n","cniVersion":"1.1.0"}')).error).toEqual({
        code: 1,
        msg: `plugin version does not allow ${cmd}`,
      });
    });

    it(`${cmd} on a plugin without that verb succeeds silently`, async () => {
      const { plugin } = testPlugin({ versions: ['1.1.0'], gc: undefined, status: undefined });
      const r = await run(plugin, env, '{"name":"n","cniVersion":"1.1.0"}');
      expect(r).toMatchObject({ exitCode: 0, stdout: '' });
    });
  }
});

describe('verb errors', () => {
  it('passes a CniError through unchanged, as 4-space JSON without a trailing newline', async () => {
    const { plugin } = testPlugin({
      add: () => {
        throw new CniError(1234, 'insufficient something');
      },
    });
    const r = await run(plugin, BASE_ENV);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('{\n    "code": 1234,\n    "msg": "insufficient something"\n}');
  });

  it('turns any other error into code 999 with its message, never a stack trace', async () => {
    const { plugin } = testPlugin({
      add: () => {
        throw new Error('potato');
      },
    });
    const r = await run(plugin, BASE_ENV);
    expect(r.error).toEqual({ code: 999, msg: 'potato' });
    expect(r.stdout).not.toContain('    at ');
  });

  it("words a system error the Go way, with the file, not Node's way", async () => {
    const { plugin } = testPlugin({
      add: () => {
        fs.readFileSync('/proc/self/nonexistent-weft');
      },
    });
    expect((await run(plugin, BASE_ENV)).error).toEqual({ code: 999, msg: 'open /proc/self/nonexistent-weft: no such file or directory' });
  });

  it("turns a fault of JavaScript itself into weft's internal error, its details on stderr only", async () => {
    const { plugin } = testPlugin({
      add: () => {
        (undefined as unknown as { x: () => void }).x();
      },
    });
    const r = await run(plugin, BASE_ENV);
    expect(r.error).toEqual({ code: 999, msg: "internal error in weft's test plugin; the details are on its standard error" });
    expect(r.stderr).toMatch(/^weft test: internal error: TypeError: Cannot read properties of undefined[^]*\n\s+at /);
  });

  it('escapes HTML characters in messages the way Go does', async () => {
    const { plugin } = testPlugin({
      add: () => {
        throw new CniError(7, 'IP <nil> & more');
      },
    });
    expect((await run(plugin, BASE_ENV)).stdout).toContain('"msg": "IP \\u003cnil\\u003e \\u0026 more"');
  });
});

describe('netns self-check', () => {
  for (const command of ['ADD', 'DEL']) {
    it(`refuses a ${command} into the plugin's own network namespace before the verb runs, with one error document`, async () => {
      const ran: string[] = [];
      const verb = () => {
        ran.push(command);
        return '{"cniVersion":"9.8.7"}';
      };
      const { plugin } = testPlugin({ add: verb, del: verb });
      const r = await run(plugin, { ...BASE_ENV, CNI_COMMAND: command, CNI_NETNS: '/proc/self/ns/net' });
      expect(r.exitCode).toBe(1);
      expect(ran).toEqual([]);
      expect(JSON.parse(r.stdout)).toEqual({ code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });
    });
  }

  it('checks the config version before the namespace', async () => {
    const { plugin, calls } = testPlugin();
    const r = await run(plugin, { ...BASE_ENV, CNI_NETNS: '/proc/self/ns/net' }, '{"name":"n","cniVersion":"0.1.0"}');
    expect(calls).toEqual([]);
    expect(r.error?.code).toBe(1);
  });

  it('skips the check when CNI_NETNS_OVERRIDE is set', async () => {
    const { plugin } = testPlugin();
    for (const v of ['1', 'true', 'TRUE']) {
      const r = await run(plugin, { ...BASE_ENV, CNI_NETNS: '/proc/self/ns/net', CNI_NETNS_OVERRIDE: v });
      expect(r.exitCode).toBe(0);
    }
  });

  it('accepts a namespace path that does not exist', async () => {
    const { plugin } = testPlugin();
    expect((await run(plugin, BASE_ENV)).exitCode).toBe(0);
  });
});
