import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerIdFor } from '../../src/cnitool/cli.ts';
import { run } from '../helpers/run.ts';
import { cniBin, tempDir } from '../helpers/tmp.ts';

// The hostile inputs of issue 13, against the built executables the way a
// runtime runs them: each answer is exactly one JSON document (a result or
// an error with the right code, naming the field or file), never a
// JavaScript or library message, and nothing is leased or saved.

const bin = (type: string) => path.join(cniBin, type);
/** Long enough for a slow machine, short enough that a hang on a pipe or /dev/zero fails the test. */
const TIMEOUT_MS = 20_000;

interface Answer {
  code: number | null;
  /** The one document on stdout; undefined for a command that succeeded silently (DEL, CHECK). */
  doc: Record<string, unknown> | undefined;
}

async function cni(type: string, command: string, stdin: string | Buffer, env: Record<string, string> = {}): Promise<Answer> {
  const r = await run(bin(type), [], {
    env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: 'ctr1', CNI_NETNS: '/var/run/netns/weft-none', CNI_IFNAME: 'eth0', CNI_PATH: cniBin, ...env },
    stdin,
    timeoutMs: TIMEOUT_MS,
  });
  expect(r.code, `${type} ${command} did not finish (killed after ${TIMEOUT_MS} ms): ${r.stderr}`).not.toBeNull();
  if (r.code === 0 && r.stdout === '' && command !== 'ADD') return { code: 0, doc: undefined };
  // JSON.parse takes one document and nothing after it.
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout of ${type} ${command} is not exactly one JSON document: ${JSON.stringify(r.stdout)}`);
  }
  return { code: r.code, doc };
}

const hostLocal = (dataDir: string, ipam: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'net', ipam: { type: 'host-local', subnet: '10.9.0.0/24', dataDir, ...ipam } });

const leaseFiles = (dataDir: string) => {
  const dir = path.join(dataDir, 'net');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^[0-9.]+$/.test(n)) : [];
};

/** Special and huge files a config may name. */
function specialFiles(dir: string): Record<string, string> {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const big = path.join(dir, 'big');
  fs.writeFileSync(big, Buffer.alloc(8 << 20, 'a'));
  const zeroLink = path.join(dir, 'zero-link');
  fs.symlinkSync('/dev/zero', zeroLink);
  return { '/dev/zero': '/dev/zero', 'a link to /dev/zero': zeroLink, 'a FIFO': fifo, 'a directory': dir, 'an 8 MiB file': big };
}

const REASON: Record<string, RegExp> = {
  '/dev/zero': /: a character device, not a regular file/,
  'a link to /dev/zero': /: a character device, not a regular file/,
  'a FIFO': /: a named pipe, not a regular file/,
  'a directory': /^read .*: is a directory|: read .*: is a directory/,
  'an 8 MiB file': /: file too large: weft reads at most /,
};

describe('the own network namespace (1)', () => {
  it('host-local refuses it before leasing: one error document, no lease', async () => {
    const dataDir = tempDir();
    const a = await cni('host-local', 'ADD', hostLocal(dataDir), { CNI_NETNS: '/proc/self/ns/net' });
    expect(a).toEqual({ code: 1, doc: { code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" } });
    expect(fs.existsSync(path.join(dataDir, 'net'))).toBe(false);
  });
});

describe('deep nesting (2)', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const dir = tempDir();
  const confAt = (type: string, depth: number) => {
    // The document's own object is one level: the value sits one level below it. Every
    // file a plugin could use is in the test's directory (flannel's subnet.env is absent).
    const files = `"subnetFile":"${dir}/subnet.env","subnetFileWaitSeconds":0,"dataDir":"${dir}/data"`;
    return `{"cniVersion":"1.0.0","name":"net","type":"${type}",${files},"x":${nested(depth - 1)}}`;
  };

  for (const type of ['host-local', 'bridge', 'flannel', 'win-bridge', 'win-overlay']) {
    it(`${type} takes a document nested 10,000 deep, as Go does, and refuses 10,001 with Go's words (code 6)`, async () => {
      const ok = await cni(type, 'ADD', confAt(type, 10_000));
      expect(ok.doc?.msg).not.toMatch(/depth|stack/i);
      const deep = await cni(type, 'ADD', confAt(type, 10_001));
      expect(deep).toEqual({ code: 1, doc: { code: 6, msg: "error unmarshall network config: invalid character '[' exceeded max depth" } });
    });
  }

  it('flannel hands a delegate value nested 3,000 and 9,990 deep on to its delegate, and leaks nothing', async () => {
    const dir = tempDir();
    const subnetFile = path.join(dir, 'subnet.env');
    fs.writeFileSync(subnetFile, 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    for (const depth of [3000, 9990]) {
      const dataDir = path.join(dir, `data-${depth}`);
      const conf = JSON.stringify({
        cniVersion: '1.0.0', name: 'net', type: 'flannel', subnetFile, subnetFileWaitSeconds: 0, dataDir,
        delegate: { type: 'host-local', deep: '@' }, ipam: { dataDir: path.join(dir, `leases-${depth}`), deep: '@' },
      }).replaceAll('"@"', nested(depth - 3));
      // host-local as the delegate: it leases, and the deep values reach it whole.
      const a = await cni('flannel', 'ADD', conf);
      expect(a.code, JSON.stringify(a.doc)).toBe(0);
      expect(a.doc?.ips).toEqual([{ address: '10.1.17.2/24', gateway: '10.1.17.1' }]);
      expect(await cni('flannel', 'DEL', conf)).toEqual({ code: 0, doc: undefined });
      expect(fs.readdirSync(path.join(dir, `leases-${depth}`, 'net')).filter((n) => /^[0-9.]+$/.test(n))).toEqual([]);
      expect(fs.readdirSync(dataDir)).toEqual([]);
    }
  });
});

describe('special and huge files named by config (3)', () => {
  it('host-local: resolvConf naming a device, a FIFO, a directory or a huge file fails at once with the file named (code 5), no lease kept', async () => {
    const dir = tempDir();
    for (const [what, file] of Object.entries(specialFiles(dir))) {
      const dataDir = path.join(dir, `data-${what.replace(/\W/g, '')}`);
      const a = await cni('host-local', 'ADD', hostLocal(dataDir, { resolvConf: file }));
      expect(a.code, what).toBe(1);
      expect(a.doc?.code, what).toBe(5);
      expect(a.doc?.msg, what).toContain(file);
      expect(a.doc?.msg, what).toMatch(REASON[what]!);
      expect(leaseFiles(dataDir), what).toEqual([]);
    }
  });

  it("host-local: a FIFO, a device or a huge file in a lease's, the lock's or the index's place is stepped over, never waited on", async () => {
    const dataDir = tempDir();
    const netDir = path.join(dataDir, 'net');
    const stateDir = path.join(dataDir, '.weft', 'net');
    fs.mkdirSync(netDir, { recursive: true });
    fs.mkdirSync(stateDir, { recursive: true });
    execFileSync('mkfifo', [path.join(netDir, '10.9.0.2'), path.join(netDir, 'lock'), path.join(stateDir, 'index.0'), path.join(stateDir, 'intent')]);
    fs.symlinkSync('/dev/zero', path.join(netDir, '10.9.0.3'));
    fs.writeFileSync(path.join(netDir, '10.9.0.4'), Buffer.alloc(1 << 20, 'a'));
    execFileSync('mkfifo', [path.join(netDir, 'last_reserved_ip.0')]);
    const a = await cni('host-local', 'ADD', hostLocal(dataDir));
    expect(a.code, JSON.stringify(a.doc)).toBe(0);
    expect(a.doc?.ips).toEqual([{ address: '10.9.0.5/24', gateway: '10.9.0.1' }]);
    expect(await cni('host-local', 'DEL', hostLocal(dataDir))).toEqual({ code: 0, doc: undefined });
    expect(fs.existsSync(path.join(netDir, '10.9.0.5'))).toBe(false);
  });

  it('flannel: subnetFile naming one fails at once, naming it; a saved config replaced by one does not stop DEL', async () => {
    const dir = tempDir();
    const special = specialFiles(dir);
    for (const [what, file] of Object.entries(special)) {
      const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'flannel', subnetFile: file, subnetFileWaitSeconds: 0, dataDir: path.join(dir, 'fdata') });
      const a = await cni('flannel', 'ADD', conf);
      expect(a.code, what).toBe(1);
      expect(a.doc?.code, what).toBe(5);
      expect(a.doc?.msg, what).toContain(file);
      expect(a.doc?.msg, what).toMatch(REASON[what]!);
    }
    const dataDir = path.join(dir, 'saved');
    fs.mkdirSync(dataDir);
    const savedConf = JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'flannel', subnetFile: path.join(dir, 'missing.env'), subnetFileWaitSeconds: 0, dataDir, ipam: { dataDir: path.join(dir, 'leases') } });
    fs.symlinkSync('/dev/zero', path.join(dataDir, 'c-zero'));
    execFileSync('mkfifo', [path.join(dataDir, 'c-fifo')]);
    fs.writeFileSync(path.join(dataDir, 'c-big'), Buffer.alloc(2 << 20, '{'));
    for (const id of ['c-zero', 'c-fifo', 'c-big']) {
      const r = await run(bin('flannel'), [], {
        env: { PATH: process.env.PATH, CNI_COMMAND: 'DEL', CNI_CONTAINERID: id, CNI_IFNAME: 'eth0', CNI_PATH: cniBin },
        stdin: savedConf,
        timeoutMs: TIMEOUT_MS,
      });
      expect([r.code, r.stdout], id).toEqual([0, '']);
      expect(fs.existsSync(path.join(dataDir, id)), `${id} removed`).toBe(false);
    }
  });

  it('cnitool: a conflist or cache file that is one is refused or skipped, naming it, without hanging', async () => {
    const dir = tempDir();
    const confDir = path.join(dir, 'net.d');
    fs.mkdirSync(confDir);
    execFileSync('mkfifo', [path.join(confDir, '10-fifo.conflist')]);
    const env = { PATH: process.env.PATH, NETCONFPATH: confDir, CNI_PATH: cniBin, CNI_CACHE_DIR: path.join(dir, 'cache') };
    const r = await run(bin('cnitool'), ['add', 'net', '/var/run/netns/weft-none'], { env, timeoutMs: TIMEOUT_MS });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error reading ${confDir}/10-fifo.conflist: read ${confDir}/10-fifo.conflist: a named pipe, not a regular file\n`);

    fs.rmSync(path.join(confDir, '10-fifo.conflist'));
    fs.writeFileSync(path.join(confDir, '10-big.conflist'), `{"name":"net","plugins":[{"type":"x","pad":"${'a'.repeat(1 << 20)}"}]}`);
    const big = await run(bin('cnitool'), ['add', 'net', '/var/run/netns/weft-none'], { env, timeoutMs: TIMEOUT_MS });
    expect(big.stderr).toMatch(/^error reading .*10-big\.conflist: read .*: file too large: weft reads at most 1 MiB of a network configuration file\n$/);

    // A FIFO where the attachment's cache file would be: GC and DEL step past it.
    fs.rmSync(path.join(confDir, '10-big.conflist'));
    fs.writeFileSync(path.join(confDir, '10-net.conflist'), JSON.stringify({ cniVersion: '1.1.0', name: 'net', plugins: [{ type: 'host-local', ipam: { type: 'host-local', subnet: '10.9.0.0/24', dataDir: path.join(dir, 'leases') } }] }));
    fs.mkdirSync(path.join(dir, 'cache', 'results'), { recursive: true });
    execFileSync('mkfifo', [path.join(dir, 'cache', 'results', `net-${containerIdFor('/var/run/netns/weft-none')}-eth0`)]);
    for (const verb of ['gc', 'del']) {
      const g = await run(bin('cnitool'), [verb, 'net', '/var/run/netns/weft-none'], { env, timeoutMs: TIMEOUT_MS });
      expect(g.code, `${verb}: ${g.stderr}`).not.toBeNull();
      expect(g.stderr, verb).not.toMatch(/ENO|EISDIR|EAGAIN|\bat /);
    }
  });
});

describe('library and OS text in messages (4)', () => {
  const bridge = (extra: string) => `{"cniVersion":"1.0.0","name":"net","type":"bridge"${extra}}`;

  it("bridge mtu 1e20, 1e400, 1.0 and 1e2 are refused in Go's words, naming the field (code 6)", async () => {
    for (const n of ['1e20', '1e400', '1.0', '1e2']) {
      const a = await cni('bridge', 'ADD', bridge(`,"mtu":${n}`));
      expect(a, n).toEqual({ code: 1, doc: { code: 6, msg: `failed to load netconf: json: cannot unmarshal number ${n} into Go struct field NetConf.mtu of type int` } });
    }
  });

  it('host-local route mtu 1e400 is quoted as written, not as Infinity; resolvConf naming a directory says so as Go does', async () => {
    const dataDir = tempDir();
    const a = await cni('host-local', 'ADD', hostLocal(dataDir, { routes: [{ dst: '0.0.0.0/0', mtu: '@' }] }).replace('"@"', '1e400'));
    expect(a.doc).toEqual({ code: 6, msg: 'json: cannot unmarshal number 1e400 into Go struct field IPAMConfig.ipam.routes of type int' });
    const d = await cni('host-local', 'ADD', hostLocal(dataDir, { resolvConf: '/tmp' }));
    expect(d.doc).toEqual({ code: 5, msg: 'read /tmp: is a directory' });
    expect(leaseFiles(dataDir)).toEqual([]);
  });

  it("names the OS's reason in Go's words when CNI_NETNS cannot be a namespace (a path under a plain file)", async () => {
    const file = path.join(tempDir(), 'plain');
    fs.writeFileSync(file, '');
    const a = await cni('bridge', 'ADD', bridge(''), { CNI_NETNS: `${file}/ns` });
    expect(a.doc).toEqual({ code: 999, msg: `failed to open netns "${file}/ns": failed to Statfs "${file}/ns": not a directory` });
  });

  it("shows a byte-order mark as Go does, visibly: 'ï'", async () => {
    const a = await cni('host-local', 'ADD', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"net"}')]));
    expect(a.doc).toEqual({ code: 6, msg: "error unmarshall network config: invalid character 'ï' looking for beginning of value" });
  });
});
