import fs from 'node:fs';
import path from 'node:path';
import type { CniConfig, RuntimeConf } from '../../src/cnitool/index.ts';
import { tempDir } from '../helpers/tmp.ts';

// A sandbox for runtime-side tests: a plugin dir with a recording test
// plugin, a config dir, a cache dir, and the command log every plugin call
// appends to.

/**
 * The test plugin, modelled on the reference "noop" plugin: it records each
 * call (command, environment, stdin) as one JSON line in the file named by
 * the config's `commandLog`, and answers as the config's `noop` key says:
 *   result: a result object | "PASSTHROUGH" (echo prevResult) | "INJECT-DNS" (prevResult + nameserver 1.2.3.4)
 *   error: {code, msg, details?} returned on the commands in errorOn (all by default)
 *   stderr: text written to stderr
 * VERSION reports the versions baked in when the plugin was written.
 */
const NOOP_SOURCE = (versions: readonly string[]) => `
const fs = require('node:fs');
const command = process.env.CNI_COMMAND;
const versions = ${JSON.stringify(versions)};
if (command === 'VERSION') {
  process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', supportedVersions: versions }));
  process.exit(0);
}
const stdin = fs.readFileSync(0, 'utf8');
let conf = {};
try { conf = JSON.parse(stdin); } catch {}
const opts = conf.noop || {};
const env = {};
for (const [k, v] of Object.entries(process.env)) env[k] = v;
if (conf.commandLog) fs.appendFileSync(conf.commandLog, JSON.stringify({ plugin: __filename, command, env, stdin }) + '\\n');
if (opts.stderr) process.stderr.write(opts.stderr);
if (opts.error && (!opts.errorOn || opts.errorOn.includes(command))) {
  process.stdout.write(JSON.stringify(opts.error));
  process.exit(1);
}
if (command !== 'ADD') process.exit(0);
let result = opts.result;
if (result === 'PASSTHROUGH' || result === 'INJECT-DNS') {
  result = { ...(conf.prevResult || {}) };
  if (opts.result === 'INJECT-DNS') result.dns = { ...(result.dns || {}), nameservers: ['1.2.3.4'] };
}
process.stdout.write(JSON.stringify(result === undefined ? { cniVersion: conf.cniVersion } : result));
`;

export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

/** Write the recording test plugin as `<binDir>/<name>`. */
export function writeNoop(binDir: string, name = 'noop', versions: readonly string[] = ALL_VERSIONS): string {
  const file = path.join(binDir, name);
  fs.writeFileSync(file, `#!${process.execPath}\n${NOOP_SOURCE(versions)}`, { mode: 0o755 });
  return file;
}

export interface LoggedCall {
  plugin: string;
  command: string;
  env: Record<string, string>;
  stdin: string;
  /** stdin parsed. */
  conf: Record<string, unknown>;
}

export interface Sandbox {
  root: string;
  binDir: string;
  confDir: string;
  cacheDir: string;
  log: string;
  /** The environment plugins inherit (no NODE_EXTRA_CA_CERTS: it slows every node start). */
  env: Record<string, string>;
  cni: CniConfig;
  calls: () => LoggedCall[];
  /** Write a config file into confDir; objects are JSON-encoded. */
  writeConf: (file: string, doc: unknown) => string;
  cacheFile: (network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>) => string;
}

export function sandbox(): Sandbox {
  const root = tempDir('weft-cnitool-');
  const binDir = path.join(root, 'bin');
  const confDir = path.join(root, 'net.d');
  const cacheDir = path.join(root, 'cache');
  fs.mkdirSync(binDir);
  fs.mkdirSync(confDir);
  writeNoop(binDir);
  const log = path.join(root, 'calls.log');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', SANDBOX_MARKER: 'inherited' };
  const stderrLines: string[] = [];
  return {
    root,
    binDir,
    confDir,
    cacheDir,
    log,
    env,
    cni: { path: [binDir], cacheDir, env, stderr: (t) => void stderrLines.push(t) },
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => {
              const c = JSON.parse(l) as Omit<LoggedCall, 'conf'>;
              return { ...c, conf: JSON.parse(c.stdin) as Record<string, unknown> };
            })
        : [],
    writeConf: (file, doc) => {
      const p = path.join(confDir, file);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
      return p;
    },
    cacheFile: (network, rt) => path.join(cacheDir, 'results', `${network}-${rt.containerId}-${rt.ifName}`),
  };
}

/** A plugin entry for the test plugin that logs to the sandbox's command log. */
export const noop = (sb: Sandbox, opts: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  type: 'noop',
  commandLog: sb.log,
  noop: opts,
  ...extra,
});

/** The CNI_* part of a logged environment. */
export const cniVars = (env: Record<string, string>) =>
  Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('CNI_')));
