import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import { setSelf } from '../../../src/cni/self.ts';
import type { Env } from '../../../src/cni/env.ts';
import { runPlugin } from '../../../src/cni/skel.ts';
import { containerIdFor } from '../../../src/cnitool/cli.ts';
import { cnitoolMain } from '../../../src/cnitool/index.ts';
import { loadPlugin } from '../../../src/plugins/registry.ts';
import { run } from '../../helpers/run.ts';
import { cniBin, tempDir, writeScript } from '../../helpers/tmp.ts';
import { type FuzzCase, GO_MAX_DEPTH, OWN_NETNS, type Plant, TYPES, fillPlaceholders, fuzzCase } from './fuzz-cases.ts';

// Fuzzed configs and environments for every plugin type and cnitool, run in
// process (runPlugin, cnitoolMain) and, for a share of the cases, through
// the built executables as a runtime runs them. Nothing can reach the machine:
// - the tools the Linux plugins run (ip, nsenter, iptables, nft, sh) are
//   fakes that refuse, found first on PATH;
// - PowerShell is a fake that refuses (WEFT_POWERSHELL);
// - CNI_NETNS never names a namespace but the plugin's own (which it must
//   refuse before any work), only paths that do not exist, a plain file or a
//   directory;
// - every data directory a config can name is inside the case's own
//   directory, and a case's relative paths resolve there (its cwd);
// - CNI_PATH holds only weft's plugins (run in process), or nothing.
// The cases come from fuzz-cases.ts.
// After each case, stdout is exactly one JSON document (or nothing where the
// protocol says so), no message carries JavaScript's or a library's words,
// a failed ADD left no lease and no saved config, every file and directory
// that appeared lies inside a directory the config named, and /var/lib/cni,
// /run/flannel, /etc/cni stay as they were.

const WATCHED = ['/var/lib/cni', '/run/flannel', '/etc/cni'];
const TOOLS = ['ip', 'nsenter', 'iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore', 'nft', 'sh', 'sysctl', 'modprobe'];
/** A command through an executable that takes longer than this is a hang. */
const EXEC_TIMEOUT_MS = 30_000;

// --- the oracle -------------------------------------------------------------

/** The version a config speaks: its cniVersion (keys match ignoring case), '' meaning 0.1.0. */
function confVersion(stdin: string): string | undefined {
  try {
    const doc = JSON.parse(stdin) as Record<string, unknown>;
    const key = Object.keys(doc).find((k) => k.toLowerCase() === 'cniversion');
    const v = key === undefined ? '' : doc[key];
    if (typeof v !== 'string') return undefined;
    return v === '' ? '0.1.0' : v;
  } catch {
    return undefined;
  }
}

/** How deep the JSON text nests (brackets outside strings): Go refuses past GO_MAX_DEPTH. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

const CIDR = /^[0-9a-f.:]+\/\d{1,3}$/i;
/** JavaScript's, Node's and zod's own words, which must never reach an operator. */
const FOREIGN_WORDS = new RegExp(
  [
    'Cannot read prop', 'is not a function', 'is not iterable', 'is not defined', 'of undefined', 'of null', '\\[object Object\\]',
    'Maximum call stack', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'Unexpected token', 'Unexpected end of JSON',
    'undefined$', 'NaN', 'Infinity',
    // Node's errno messages ("ENOENT: no such file or directory, open '/x'", "spawn x ENOENT")
    '\\bE[A-Z]{2,}: ', 'spawn \\S+ E[A-Z]+', 'illegal operation on a directory',
    // zod's
    'Invalid input', 'Too (big|small):', 'expected \\w+, received', 'Invalid (string|number|type)',
    // a fault of JavaScript itself, caught by the protocol frame: a bug
    'internal error in weft',
  ].join('|'),
);
/** Characters a message must not show as themselves where it quotes one (Go escapes them). */
const INVISIBLE = /[\u0000-\u001f\u007f-\u00a0\u00ad\u200b-\u200f\u2028\u2029\ufeff]/;

function expectValidResult(stdout: string, version: string): void {
  const r = JSON.parse(stdout) as Record<string, unknown>;
  expect(r.cniVersion, stdout).toBe(version);
  const [major, minor] = version.split('.').map(Number) as [number, number];
  if (major === 0 && minor < 3) {
    for (const k of Object.keys(r)) expect(['cniVersion', 'ip4', 'ip6', 'dns'], stdout).toContain(k);
    for (const fam of ['ip4', 'ip6']) if (r[fam] !== undefined) expect((r[fam] as { ip: string }).ip, stdout).toMatch(CIDR);
    return;
  }
  for (const k of Object.keys(r)) expect(['cniVersion', 'interfaces', 'ips', 'routes', 'dns'], stdout).toContain(k);
  for (const i of (r.ips as Record<string, unknown>[] | undefined) ?? []) {
    expect(i.address, stdout).toMatch(CIDR);
    if (major === 0) expect(['4', '6'], stdout).toContain(i.version);
    else expect(i.version, stdout).toBeUndefined();
  }
}

/** A message an operator reads: Go's or weft's words only. */
function expectOwnWords(text: string, context: string): void {
  expect(text, `JavaScript or library words in ${context}`).not.toMatch(FOREIGN_WORDS);
  expect(text, `a stack trace in ${context}`).not.toMatch(/\n\s+at /);
  for (const m of text.matchAll(/invalid character '((?:\\'|[^'])*)'/g)) expect(m[1], `an invisible character quoted in ${context}`).not.toMatch(INVISIBLE);
  for (const m of text.matchAll(/cannot unmarshal number (?!into )(\S+)/g)) expect(m[1], `a number not as JSON writes it in ${context}`).toMatch(/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/);
}

export interface FuzzStats {
  cases: number;
  ok: number;
  /** Failures by CNI code ("cnitool" for cnitool's). */
  errors: Record<string, number>;
  /** Cases run through the built executables (and their DELs after a successful ADD). */
  executed: number;
  /** cnitool cases (in process and executed). */
  cnitool: number;
  /** Cases whose stdin nests past Go's limit, and those nesting 3,000 and more but within it. */
  tooDeep: number;
  deepWithinLimit: number;
  /** Cases with a number at or beyond Go's limits in their stdin. */
  edgeNumbers: number;
  /** Cases naming or planting a FIFO, a device, a directory or a huge file. */
  specialFiles: number;
  /** ADD or DEL into the plugin's own namespace (all refused). */
  ownNetns: number;
  /** Failed ADDs checked for leftovers. */
  failedAdds: number;
  /** Failed ADDs after which flannel kept its saved config because the delegate's cleanup DEL failed too (and so did the runtime's DEL). */
  keptForRetry: number;
  /** Tools the plugins tried to run (all refused): DEL and GC tearing down rules by container ID. */
  toolCalls: number;
  ms: number;
}

// --- the runner -------------------------------------------------------------

function walk(dir: string, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    out.push(e.isDirectory() ? `${p}/` : p);
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** The write directories a config names (only strings count; Go would reject others). */
function namedDirs(conf: unknown, cwd: string): string[] {
  const out: string[] = [];
  const add = (v: unknown) => typeof v === 'string' && v !== '' && out.push(path.resolve(cwd, v));
  if (!conf || typeof conf !== 'object') return out;
  const c = conf as Record<string, unknown>;
  add(c.dataDir);
  const ipam = c.ipam as Record<string, unknown> | undefined;
  if (ipam && typeof ipam === 'object') add(ipam.dataDir);
  return out;
}

/** The shared special files: a FIFO, links to it and to /dev/zero, a 9 MiB file (past every limit), a socket-free directory. */
function makeSpecials(dir: string): void {
  fs.mkdirSync(dir);
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  fs.symlinkSync(path.join(dir, 'fifo'), path.join(dir, 'fifo-link'));
  fs.symlinkSync('/dev/zero', path.join(dir, 'zero-link'));
  fs.writeFileSync(path.join(dir, 'big'), Buffer.alloc(9 << 20, '{'));
}

/** Put `what` at `file` (its directory made on the way); false when that path cannot hold it. */
function plantAt(file: string, what: Plant, specialDir: string): boolean {
  if (what === 'none') return false;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (what === 'dir') fs.mkdirSync(path.join(file, 'x'), { recursive: true });
    else if (what === 'garbage') fs.writeFileSync(file, '\ufeff{"type":');
    else fs.symlinkSync(what === 'zero' ? '/dev/zero' : path.join(specialDir, what === 'fifo' ? 'fifo' : 'big'), file);
    return true;
  } catch {
    return false;
  }
}

interface Outcome {
  stdout: string;
  exitCode: number;
  stderr: string;
}

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export async function fuzzPlugins(numRuns: number, seed?: number): Promise<FuzzStats> {
  const started = Date.now();
  const root = tempDir('weft-fuzz-');
  // weft's plugins on CNI_PATH are this process (in process delegation).
  setSelf(path.join(cniBin, 'weft.cjs'), loadPlugin);
  const bin = path.join(root, 'bin');
  const binNoIpam = path.join(root, 'bin-no-ipam');
  for (const [dir, types] of [[bin, [...TYPES, 'cnitool']], [binNoIpam, [...TYPES.filter((t) => t !== 'host-local'), 'cnitool']]] as const) {
    fs.mkdirSync(dir);
    // The links have no extension; this keeps node from reading them as ES modules.
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
    for (const t of types) fs.symlinkSync(path.join(cniBin, 'weft.cjs'), path.join(dir, t));
  }
  const specialDir = path.join(root, 'special');
  makeSpecials(specialDir);
  const specialsBefore = walk(specialDir).map((p) => `${p} ${fs.lstatSync(p.replace(/\/$/, '')).size}`);
  const tools = path.join(root, 'tools');
  const toolLog = path.join(root, 'tools.log');
  fs.mkdirSync(tools);
  for (const t of TOOLS) writeScript(path.join(tools, t), `echo "$0 $*" >> '${toolLog}'\necho "fuzz harness: $0 refused" >&2\nexit 1`);
  // The executables start with `#!/usr/bin/env node`: node is the one real program on their PATH.
  fs.symlinkSync(process.execPath, path.join(tools, 'node'));
  const powershell = writeScript(path.join(root, 'powershell'), `echo "fuzz harness: PowerShell refused" >&2\nexit 1`);
  const savedPath = process.env.PATH;
  const savedCwd = process.cwd();
  // The Linux plugins take their tools' PATH from this process's environment.
  process.env.PATH = tools;
  const watchedBefore = WATCHED.map((p) => fs.existsSync(p));
  const watchedTree = () => WATCHED.flatMap((p) => walk(p)).sort();
  const treeBefore = watchedTree();
  const plugins = Object.fromEntries(await Promise.all(TYPES.map(async (t) => [t, await loadPlugin(t)] as const)));
  const stats: FuzzStats = {
    cases: 0, ok: 0, errors: {}, executed: 0, cnitool: 0, tooDeep: 0, deepWithinLimit: 0, edgeNumbers: 0, specialFiles: 0, ownNetns: 0, failedAdds: 0, keptForRetry: 0, toolCalls: 0, ms: 0,
  };
  let n = 0;

  /** Run a built executable as a runtime does; a hang is a failure. */
  async function execute(file: string, args: string[], env: Record<string, string | undefined>, stdin: string, cwd: string): Promise<Outcome> {
    stats.executed++;
    const execEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
    const r = await run(file, args, { env: execEnv, stdin, cwd, timeoutMs: EXEC_TIMEOUT_MS });
    expect(r.code, `${path.basename(file)} ${args.join(' ')} ${env.CNI_COMMAND ?? ''} did not finish within ${EXEC_TIMEOUT_MS} ms`).not.toBeNull();
    return { stdout: r.stdout, exitCode: r.code!, stderr: r.stderr };
  }

  /** One plugin command, in process or through its executable, run in the case's cwd. */
  async function invoke(c: FuzzCase, env: Record<string, string | undefined>, stdin: string, cwd: string, binDir: string): Promise<Outcome> {
    if (c.exec) return execute(path.join(binDir, c.type), [], env, stdin, cwd);
    process.chdir(cwd);
    try {
      const o = await runPlugin(plugins[c.type as (typeof TYPES)[number]]!, { env: env as Env, readStdin: () => Buffer.from(stdin), stderr: () => {} });
      return { ...o, stderr: '' };
    } finally {
      process.chdir(savedCwd);
    }
  }

  /** cnitool <verb> <network> <netns>, in process or through its executable. */
  async function cnitool(c: FuzzCase, verb: string, network: string, env: Record<string, string | undefined>, cwd: string, binDir: string): Promise<Outcome> {
    const args = [verb, network, env.CNI_NETNS ?? ''];
    const toolEnv: Record<string, string | undefined> = { ...env, CNI_COMMAND: undefined };
    // (A network name with a NUL byte cannot be an argument of a process: in process only.)
    if (c.exec && !args.some((a) => a.includes('\u0000'))) return execute(path.join(binDir, 'cnitool'), args, toolEnv, '', cwd);
    let stdout = '';
    let stderr = '';
    process.chdir(cwd);
    try {
      const exitCode = await cnitoolMain(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, { env: toolEnv as Env });
      return { stdout, exitCode, stderr };
    } finally {
      process.chdir(savedCwd);
    }
  }

  /** The plugin's answer as the CNI protocol wants it: one JSON document, or nothing. */
  function checkPluginOutcome(c: FuzzCase, env: Record<string, string | undefined>, stdin: string, o: Outcome): void {
    const context = `${c.type} ${env.CNI_COMMAND}: ${JSON.stringify(o.stdout)}`;
    expect([0, 1], context).toContain(o.exitCode);
    expectOwnWords(o.stderr, `stderr of ${context}`);
    const depth = nestingDepth(stdin);
    if (o.exitCode === 1) {
      let err: Record<string, unknown>;
      try {
        err = JSON.parse(o.stdout) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout is not exactly one JSON document: ${context}`);
      }
      expect(Object.keys(err).every((k) => ['code', 'msg', 'details'].includes(k)), context).toBe(true);
      expect(Number.isInteger(err.code), context).toBe(true);
      expect(typeof err.msg === 'string' && err.msg !== '', context).toBe(true);
      if (err.details !== undefined) expect(typeof err.details, context).toBe('string');
      expectOwnWords(`${err.msg} ${err.details ?? ''}`, context);
      const msg = err.msg as string;
      // Past Go's depth the only answer (once the environment is fine) is Go's decode error; within it, never that.
      if (depth > GO_MAX_DEPTH && err.code !== 3 && err.code !== 4) {
        expect(err.code, context).toBe(6);
        expect(msg, context).toMatch(/^error unmarshall network config: invalid character '[[{]' exceeded max depth$/);
      }
      if (depth <= GO_MAX_DEPTH) expect(msg, context).not.toContain('exceeded max depth');
      if (err.code === 8) expect(msg, context).toBe("plugin's netns and netns from CNI_NETNS should not be the same");
      // The plugin's own namespace is refused before the verb runs: only the frame's own checks
      // (environment, the document and its name, the version) can fail first.
      if (env.CNI_NETNS === OWN_NETNS && ['ADD', 'DEL'].includes(env.CNI_COMMAND ?? '') && ![1, 3, 4, 8].includes(err.code as number)) {
        expect(msg, `an error from the verb in its own namespace: ${context}`).toMatch(/^(error unmarshall network config|missing network name|invalid characters found in network name|decoding version)/);
      }
      stats.errors[String(err.code)] = (stats.errors[String(err.code)] ?? 0) + 1;
    } else {
      stats.ok++;
      expect(depth <= GO_MAX_DEPTH || !env.CNI_COMMAND || env.CNI_COMMAND === 'VERSION', `a document nested ${depth} deep was taken: ${context}`).toBe(true);
      // The plugin's own namespace is refused before any work.
      expect(env.CNI_NETNS === OWN_NETNS && ['ADD', 'DEL'].includes(env.CNI_COMMAND ?? ''), `own namespace taken: ${context}`).toBe(false);
      if (env.CNI_COMMAND === 'VERSION') expect(JSON.parse(o.stdout).supportedVersions, context).toContain('1.1.0');
      else if (env.CNI_COMMAND === 'ADD') expectValidResult(o.stdout, confVersion(stdin)!);
      else expect(o.stdout, context).toBe('');
    }
  }

  /** cnitool's answer: a result document on stdout for a successful add, nothing otherwise; one message line on failure. */
  function checkCnitoolOutcome(verb: string, o: Outcome): void {
    const context = `cnitool ${verb}: ${JSON.stringify(o)}`;
    expect([0, 1], context).toContain(o.exitCode);
    expectOwnWords(o.stderr, context);
    if (o.exitCode === 1) {
      expect(o.stdout, context).toBe('');
      stats.errors.cnitool = (stats.errors.cnitool ?? 0) + 1;
      return;
    }
    stats.ok++;
    if (verb === 'add') expect(() => JSON.parse(o.stdout), `stdout is not exactly one JSON document: ${context}`).not.toThrow();
    else expect(o.stdout, context).toBe('');
  }

  try {
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        const caseDir = path.join(root, `case-${n++}`);
        const cwd = path.join(caseDir, 'cwd');
        fs.mkdirSync(path.join(cwd, 'rel'), { recursive: true });
        fs.writeFileSync(path.join(caseDir, 'plainfile'), 'not a directory\n');
        fs.writeFileSync(path.join(caseDir, 'subnet.env'), c.subnetEnv);
        fs.writeFileSync(path.join(cwd, 'rel', 'subnet.env'), c.subnetEnv);
        fs.writeFileSync(path.join(caseDir, 'resolv.conf'), 'nameserver 192.0.2.53\nsearch example\n');
        // flannel's Windows delegate config takes no ipam dataDir: its host-local would use the machine's.
        const windowsDelegate = c.pluginType === 'flannel' && ['win-bridge', 'win-overlay'].includes((c.conf.delegate as { type?: unknown } | undefined)?.type as string);
        const binDir = windowsDelegate ? binNoIpam : bin;
        const fill = (s: string) => fillPlaceholders(s, { caseDir, binDir, specialDir });
        const confText = fill(JSON.stringify(c.conf));
        const stdin = c.raw === undefined ? confText : fill(c.raw);
        const env: Record<string, string | undefined> = {
          PATH: tools,
          WEFT_POWERSHELL: powershell,
          ...Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, fill(v)])),
          CNI_COMMAND: c.command,
        };
        const depth = nestingDepth(stdin);
        if (depth > GO_MAX_DEPTH) stats.tooDeep++;
        else if (depth >= 3000) stats.deepWithinLimit++;
        if (/@NUM:/.test(JSON.stringify(c.conf)) || /1e400|1e999/.test(stdin)) stats.edgeNumbers++;
        if (stdin.includes(specialDir) || stdin.includes('/dev/zero')) stats.specialFiles++;
        if (env.CNI_NETNS === OWN_NETNS && ['ADD', 'DEL'].includes(c.command ?? '')) stats.ownNetns++;

        // Plant what the case asks for where weft keeps its files (before the "before" listing: it is the case's input).
        const conf = c.raw === undefined ? (JSON.parse(confText) as Record<string, unknown>) : undefined;
        const network = typeof conf?.name === 'string' && VALID_NAME.test(conf.name) ? conf.name : undefined;
        const id = VALID_NAME.test(env.CNI_CONTAINERID ?? '') ? env.CNI_CONTAINERID! : undefined;
        const inCase = (v: unknown) => (typeof v === 'string' && v !== '' && inside(path.resolve(cwd, v), caseDir) ? path.resolve(cwd, v) : undefined);
        const flannelDir = c.pluginType === 'flannel' ? inCase(conf?.dataDir) : undefined;
        const leaseDir = inCase((conf?.ipam as Record<string, unknown> | undefined)?.dataDir);
        let planted = false;
        if (flannelDir && id) planted = plantAt(path.join(flannelDir, id), c.plant.saved, specialDir) || planted;
        if (leaseDir && network) {
          for (const f of [path.join(network, '10.1.17.2'), path.join(network, 'lock'), path.join('.weft', network, 'index.0'), path.join('.weft', network, 'intent')]) {
            planted = plantAt(path.join(leaseDir, f), c.plant.lease, specialDir) || planted;
          }
        }
        const netDir = path.join(caseDir, 'net.d');
        const cacheDir = path.join(caseDir, 'cache');
        if (c.type === 'cnitool') {
          fs.mkdirSync(netDir);
          // The list around the plugin's conf, written as text: its numbers and nesting stay as generated.
          const head = conf ? JSON.stringify({ cniVersion: conf.cniVersion, name: conf.name }).slice(0, -1) : undefined;
          const list = head === undefined ? stdin : `${head}${head === '{' ? '' : ','}"plugins":[${confText}]}`;
          fs.writeFileSync(path.join(netDir, '10-fuzz.conflist'), list);
          planted = plantAt(path.join(netDir, '05-planted.conflist'), c.plant.conflist, specialDir) || planted;
          if (network) planted = plantAt(path.join(cacheDir, 'results', `${network}-${containerIdFor(path.resolve(cwd, env.CNI_NETNS ?? ''))}-${env.CNI_IFNAME ?? 'eth0'}`), c.plant.cache, specialDir) || planted;
          env.NETCONFPATH = netDir;
          env.CNI_CACHE_DIR = cacheDir;
        }
        if (planted) stats.specialFiles++;
        const before = new Set(walk(caseDir));

        // A namespace path must never name a namespace but the plugin's own: only absent paths, plain files and directories.
        const netnsPath = env.CNI_NETNS && env.CNI_NETNS !== OWN_NETNS ? path.resolve(cwd, env.CNI_NETNS) : undefined;
        if (netnsPath && fs.existsSync(netnsPath)) expect(fs.statSync(netnsPath).isFile() || fs.statSync(netnsPath).isDirectory()).toBe(true);
        // A case that hangs or kills the worker cannot be reported by fast-check: this file names it.
        if (process.env.WEFT_FUZZ_TRACE) fs.writeFileSync(process.env.WEFT_FUZZ_TRACE, `${JSON.stringify({ type: c.type, exec: c.exec, env, stdin: stdin.slice(0, 4096) })}\n`);

        stats.cases++;
        const netName = typeof conf?.name === 'string' ? conf.name : 'net';
        // What the runtime does with the same input to tear the attachment down.
        const runtimeDel = () => (c.type === 'cnitool' ? cnitool(c, 'del', netName, env, cwd, binDir) : invoke(c, { ...env, CNI_COMMAND: 'DEL' }, stdin, cwd, binDir));
        let added: boolean;
        let failedAdd: boolean;
        if (c.type === 'cnitool') {
          stats.cnitool++;
          const o = await cnitool(c, c.command!, netName, env, cwd, binDir);
          checkCnitoolOutcome(c.command!, o);
          added = o.exitCode === 0 && c.command === 'add';
          failedAdd = o.exitCode === 1 && c.command === 'add';
        } else {
          const o = await invoke(c, env, stdin, cwd, binDir);
          checkPluginOutcome(c, env, stdin, o);
          added = o.exitCode === 0 && env.CNI_COMMAND === 'ADD';
          failedAdd = o.exitCode === 1 && env.CNI_COMMAND === 'ADD';
        }
        // Whatever an ADD took, a DEL with the same input gives back.
        if (added) expect(await runtimeDel(), 'DEL after a successful ADD').toMatchObject({ stdout: '', exitCode: 0 });
        // After ADD and DEL, or after a failed ADD: no lease, no saved config, no cache entry.
        if (added || failedAdd) {
          if (failedAdd) stats.failedAdds++;
          const leftovers = () => walk(caseDir).filter((p) => !before.has(p) && !p.endsWith('/') && !p.includes('/.weft/') && !/\/(lock|last_reserved_ip\.\d+)$/.test(p));
          const what = `left after ${failedAdd ? 'a failed ADD' : 'ADD and DEL'} by ${c.type} (${c.exec ? 'executable' : 'in process'})`;
          let left = leftovers();
          // One file may outlive a failed ADD: flannel keeps the delegate config it saved when the
          // delegate's own cleanup DEL failed too (here: the Windows delegates, whose PowerShell the
          // harness refuses), so that the runtime's DEL can replay it. Then it must be that file
          // alone, with no lease, and the runtime's DEL must either clear it or fail and keep it.
          // (flannel may also run as another plugin's IPAM, with the same config; on Windows it names
          // the file after the sandbox, not the container.)
          const flannelData = inCase(conf?.dataDir);
          const saved = left.length === 1 && flannelData && path.dirname(left[0]!) === flannelData ? left[0] : undefined;
          if (failedAdd && saved) {
            const del = await runtimeDel();
            left = leftovers();
            if (del.exitCode !== 0) {
              expect(left, `${what}, with a runtime DEL that failed`).toEqual([saved]);
              stats.keptForRetry++;
              left = [];
            }
          }
          expect(left, what).toEqual([]);
        }
        // Writes stay inside the directories the config names (or their parents, made on the way).
        const allowed = [...namedDirs(conf, cwd), ...(c.type === 'cnitool' ? [cacheDir] : [])];
        for (const p of walk(caseDir)) {
          if (before.has(p)) continue;
          const isDir = p.endsWith('/');
          const abs = isDir ? p.slice(0, -1) : p;
          const ok = allowed.some((d) => inside(abs, d) || (isDir && inside(d, abs)));
          expect(ok, `${p} written outside ${JSON.stringify(allowed)} by ${c.type} ${c.command}`).toBe(true);
        }
        WATCHED.forEach((p, i) => expect(fs.existsSync(p), p).toBe(watchedBefore[i]));
        fs.rmSync(caseDir, { recursive: true, force: true });
      }),
      { numRuns, seed, verbose: 1, endOnFailure: true },
    );
  } finally {
    process.env.PATH = savedPath;
    process.chdir(savedCwd);
  }
  // Each case checked that these were not created; nothing changed inside them either.
  expect(watchedTree()).toEqual(treeBefore);
  // The special files are read, never written.
  expect(walk(specialDir).map((p) => `${p} ${fs.lstatSync(p.replace(/\/$/, '')).size}`)).toEqual(specialsBefore);
  stats.toolCalls = fs.existsSync(toolLog) ? fs.readFileSync(toolLog, 'utf8').split('\n').filter(Boolean).length : 0;
  stats.ms = Date.now() - started;
  return stats;
}
