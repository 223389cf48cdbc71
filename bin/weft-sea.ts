import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { EntryMarks } from '../src/cni/profile.ts';
import { answerVersion, commandOf, currentInvocation, isVersionProbe } from './invocation.ts';
import { install } from './weft-install.ts';

// First: how long the bundle's compile and evaluation take (WEFT_PROFILE).
const entry = process.hrtime.bigint();

// Entry of the standalone executables. The bundle (bin/main.ts) travels as
// a SEA asset and is compiled here with V8's code cache when one that fits
// lies beside the executable: a start then skips parsing the bundle.
// The cache is made on the node itself (`<any weft name> --weft-build-code-cache`,
// run by the package's install step), so the packages stay byte-for-byte
// reproducible, and its name carries a hash of the bundle, so a cache can
// never be applied to another build's code. `--weft-install` installs the
// executable into a CNI bin folder (bin/weft-install.ts).

interface Bundle {
  runMain(marks?: EntryMarks): void;
  preloadAll(): Promise<void>;
}

const BUILD_CACHE_FLAG = '--weft-build-code-cache';
const INSTALL_FLAG = '--weft-install';

/** sha256 of the bundle (first 16 hex digits), put in by the package build. */
declare const WEFT_BUNDLE_DIGEST: string;

const sea = process.getBuiltinModule('node:sea') as { getAsset(key: string, encoding: string): string };
const source = sea.getAsset('weft-main.cjs', 'utf8');
const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
const cacheFile = path.join(path.dirname(process.execPath), `weft-${WEFT_BUNDLE_DIGEST}.codecache`);

function load(cachedData: Buffer | undefined): { bundle: Bundle; script: vm.Script; marks: EntryMarks } {
  const script = new vm.Script(wrapped, { filename: 'weft-main.cjs', cachedData });
  const compiled = process.hrtime.bigint();
  const bundle = { exports: {} as Bundle };
  const fn = script.runInThisContext() as (e: object, r: NodeJS.Require, m: object, f: string, d: string) => void;
  fn(bundle.exports, require, bundle, process.execPath, path.dirname(process.execPath));
  return { bundle: bundle.exports, script, marks: { entry, compiled, evaluated: process.hrtime.bigint() } };
}

function readCache(): Buffer | undefined {
  try {
    return fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/**
 * Compile every function, initialise every module, write the cache
 * atomically, drop caches of other builds. V8 compiles a function when it is
 * first called and a cache holds only what was compiled: made after module
 * initialisation alone, every ADD compiled its verbs, configs and IPAM anew
 * (~40M instructions, a fifth of an ADD). Compiled eagerly, the cache is 4x
 * larger (+3 ms to read at each start) and an ADD compiles nothing. V8 takes
 * a cache only under the flags it was made with: --lazy is back before the
 * cache is written, so it fits a start with the executable's own options
 * (its SEA execArgv, which this run has too).
 */
async function buildCodeCache(): Promise<void> {
  const v8 = process.getBuiltinModule('node:v8');
  v8.setFlagsFromString('--no-lazy');
  const { bundle, script } = load(undefined);
  v8.setFlagsFromString('--lazy');
  await bundle.preloadAll();
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
  fs.renameSync(tmp, cacheFile);
  const dir = path.dirname(cacheFile);
  for (const f of fs.readdirSync(dir)) {
    if (/^weft-[0-9a-f]{16}\.codecache$/.test(f) && path.join(dir, f) !== cacheFile) fs.rmSync(path.join(dir, f), { force: true });
  }
  process.stdout.write(`${cacheFile}\n`);
}

if (process.argv.length === 3 && process.argv[2] === BUILD_CACHE_FLAG) {
  buildCodeCache().catch((e: unknown) => {
    process.stderr.write(`weft: cannot write ${cacheFile}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
} else if (process.argv[2] === INSTALL_FLAG) {
  process.exitCode = install(process.argv.slice(3));
} else {
  // A VERSION probe is answered before the bundle is compiled: reading its
  // code cache is most of what a start costs above the bare runtime.
  const cmd = commandOf(currentInvocation());
  if (cmd && isVersionProbe(cmd, process.env)) process.exitCode = answerVersion();
  else {
    const { bundle, marks } = load(readCache());
    bundle.runMain(marks);
  }
}
