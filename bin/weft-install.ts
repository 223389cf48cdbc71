import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/cni/atomic-file.ts';

// `<any weft name> --weft-install [options]`: installs the executable it is
// into a node's CNI bin folder the way a live node needs it. It is the install
// image's entrypoint (the DaemonSet's init container) and the tarball's
// upgrade command.
//
// - Every name is swapped in by rename(2) of a complete file: a runtime
//   starting a pod finds the old plugin or the new one, never a missing or
//   half-written one, and a plugin already running keeps its old inode.
// - One file, every name a hard link of it: weft runs a delegate that is
//   itself in the same process.
// - The code cache is built by the new executable on this node before the swap.
// - A file of the same name that weft did not put there (the reference bridge,
//   say) is kept as <name>.distrib, once.
// - The network configuration is written only when absent, or with
//   --overwrite-conf; a conf that is not a CNI configuration is refused.
// - --restore undoes it for a rollback to other plugins: each kept
//   <name>.distrib renamed back, and every other weft name given a file of
//   its own, so that an installer that copies over a name in place (`cp -f`,
//   as kube-flannel's does) changes that name only, not all the links.

const USAGE = `usage: <weft> --weft-install [--bin-dir DIR] [--conf FILE [--conf-dir DIR] [--conf-name NAME] [--overwrite-conf]]
       <weft> --weft-install --restore [--bin-dir DIR]
  --bin-dir DIR      CNI bin folder to install into (default /opt/cni/bin)
  --conf FILE        network configuration to install (default: none)
  --conf-dir DIR     CNI configuration folder (default /etc/cni/net.d)
  --conf-name NAME   file name there (default 10-flannel.conflist)
  --overwrite-conf   replace an existing configuration that differs
  --restore          put back the plugins weft kept as <name>.distrib
`;

/** Which names weft installed in a folder, so that it never takes its own old files for another package's. */
const RECORD = '.weft-installed.json';

interface Options {
  binDir: string;
  confFile?: string;
  confDir: string;
  confName: string;
  overwriteConf: boolean;
  restore: boolean;
}

class InstallError extends Error {}

function parseArgs(args: readonly string[]): Options {
  const opts: Options = { binDir: '/opt/cni/bin', confDir: '/etc/cni/net.d', confName: '10-flannel.conflist', overwriteConf: false, restore: false };
  const value = (i: number): string => {
    const v = args[i + 1];
    if (v === undefined || v === '') throw new InstallError(`${args[i]} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--bin-dir') opts.binDir = value(i++);
    else if (a === '--conf') opts.confFile = value(i++);
    else if (a === '--conf-dir') opts.confDir = value(i++);
    else if (a === '--conf-name') opts.confName = value(i++);
    else if (a === '--overwrite-conf') opts.overwriteConf = true;
    else if (a === '--restore') opts.restore = true;
    else throw new InstallError(`unknown argument ${JSON.stringify(a)}`);
  }
  if (opts.restore && opts.confFile !== undefined) throw new InstallError('--restore takes no --conf');
  if (opts.confName !== path.basename(opts.confName) || !/\.(conf|conflist|json)$/.test(opts.confName)) {
    throw new InstallError(`--conf-name must be a file name ending in .conf, .conflist or .json, not ${JSON.stringify(opts.confName)}`);
  }
  return opts;
}

const say = (line: string): void => void process.stderr.write(`weft-install: ${line}\n`);

/** The names this executable has: the files beside it that are hard links of it. */
function ownNames(): string[] {
  const self = fs.statSync(process.execPath);
  const dir = path.dirname(process.execPath);
  return fs
    .readdirSync(dir)
    .filter((f) => {
      const st = fs.statSync(path.join(dir, f), { throwIfNoEntry: false });
      return st !== undefined && st.ino === self.ino && st.dev === self.dev;
    })
    .sort();
}

function readRecord(binDir: string): Set<string> {
  try {
    const doc = JSON.parse(fs.readFileSync(path.join(binDir, RECORD), 'utf8')) as { names?: unknown };
    return new Set(Array.isArray(doc.names) ? doc.names.filter((n): n is string => typeof n === 'string') : []);
  } catch {
    return new Set();
  }
}

const tempName = (dir: string, what: string): string => path.join(dir, `.${what}.weft-${process.pid}-${Date.now().toString(36)}.tmp`);

/** Temp files of installs that died; a concurrent install's are younger than this. */
function removeStaleTemps(binDir: string): void {
  const cutoff = Date.now() - 3600_000;
  for (const f of fs.readdirSync(binDir)) {
    if (!/^\..+\.weft-\d+-[0-9a-z]+\.tmp$/.test(f)) continue;
    const p = path.join(binDir, f);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st && st.mtimeMs < cutoff) fs.rmSync(p, { force: true });
  }
}

/** Copy this executable beside its destination and sync it: the file every name will link to. */
function stageExecutable(binDir: string): string {
  const staged = tempName(binDir, 'weft');
  fs.copyFileSync(process.execPath, staged, fs.constants.COPYFILE_EXCL);
  fs.chmodSync(staged, 0o755);
  const fd = fs.openSync(staged, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return staged;
}

/** Let the new executable compile its code cache here (it writes it beside itself and drops older ones). */
function buildCodeCache(staged: string): void {
  const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(staged, ['--weft-build-code-cache'], { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status === 0) say(`code cache ${r.stdout.trim()}`);
  else say(`no code cache (weft starts a little slower): ${(r.stderr || r.error?.message || `exit status ${r.status}`).trim()}`);
}

function installExecutables(binDir: string, names: string[]): void {
  fs.mkdirSync(binDir, { recursive: true });
  removeStaleTemps(binDir);
  const owned = readRecord(binDir);
  for (const name of names) {
    const dest = path.join(binDir, name);
    const kept = `${dest}.distrib`;
    if (!owned.has(name) && fs.existsSync(dest) && !fs.existsSync(kept)) {
      // A second name for the other package's file: the name itself never goes away.
      fs.linkSync(dest, kept);
      say(`kept the existing ${name} as ${path.basename(kept)}`);
    }
  }
  const record = JSON.stringify({ names: [...new Set([...owned, ...names])].sort() });
  writeFileAtomic(path.join(binDir, RECORD), `${record}\n`, tempName(binDir, 'record'));

  const staged = stageExecutable(binDir);
  try {
    buildCodeCache(staged);
    for (const name of names) {
      const link = tempName(binDir, name);
      fs.linkSync(staged, link);
      fs.renameSync(link, path.join(binDir, name));
    }
  } finally {
    fs.rmSync(staged, { force: true });
  }
  say(`installed ${names.join(', ')} in ${binDir}`);
}

/** Undo installExecutables for the names weft recorded; the network configuration stays. */
function restore(binDir: string): void {
  const owned = readRecord(binDir);
  if (owned.size === 0) throw new InstallError(`${path.join(binDir, RECORD)}: weft installed nothing here`);
  for (const name of [...owned].sort()) {
    const dest = path.join(binDir, name);
    const kept = `${dest}.distrib`;
    if (fs.existsSync(kept)) {
      fs.renameSync(kept, dest);
      say(`restored ${name} from ${path.basename(kept)}`);
    } else if (fs.existsSync(dest)) {
      const own = tempName(binDir, name);
      fs.copyFileSync(dest, own, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(own, 0o755);
      fs.renameSync(own, dest);
      say(`${name} had no other plugin before weft: left as weft's, in a file of its own`);
    }
  }
  fs.rmSync(path.join(binDir, RECORD), { force: true });
}

/** The configuration must be one a runtime can load: a JSON object with a name and a type or plugins. */
function readConf(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InstallError(`cannot read --conf ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InstallError(`--conf ${file} is not JSON`);
  }
  const conf = doc as { name?: unknown; type?: unknown; plugins?: unknown };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || typeof conf.name !== 'string' || conf.name === '') {
    throw new InstallError(`--conf ${file}: no network "name"`);
  }
  if (typeof conf.type !== 'string' && !(Array.isArray(conf.plugins) && conf.plugins.length > 0)) {
    throw new InstallError(`--conf ${file}: neither a "type" nor a non-empty "plugins" list`);
  }
  return text;
}

function installConf(opts: Options & { confFile: string }): void {
  const text = readConf(opts.confFile);
  const dest = path.join(opts.confDir, opts.confName);
  const current = fs.existsSync(dest) ? fs.readFileSync(dest, 'utf8') : undefined;
  if (current === text) {
    say(`${dest} is up to date`);
    return;
  }
  if (current !== undefined && !opts.overwriteConf) {
    say(`${dest} exists and differs; left alone (--overwrite-conf replaces it)`);
    return;
  }
  fs.mkdirSync(opts.confDir, { recursive: true });
  writeFileAtomic(dest, text, tempName(opts.confDir, opts.confName), { syncDir: true });
  fs.chmodSync(dest, 0o644);
  say(`wrote ${dest}`);
}

/** Run the installer; resolves to the exit status. */
export function install(args: readonly string[]): number {
  try {
    if (args.includes('--help')) {
      process.stdout.write(USAGE);
      return 0;
    }
    const opts = parseArgs(args);
    if (opts.restore) {
      restore(opts.binDir);
      return 0;
    }
    // Refuse a broken conf before anything on the node changes.
    if (opts.confFile !== undefined) readConf(opts.confFile);
    installExecutables(opts.binDir, ownNames());
    if (opts.confFile !== undefined) installConf({ ...opts, confFile: opts.confFile });
    return 0;
  } catch (e) {
    if (e instanceof InstallError) say(`${e.message}\n${USAGE}`);
    else say((e as Error).message);
    return 1;
  }
}
