import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
// @ts-expect-error: a plain .mjs script without type declarations
import { PWSH as testDepsPwsh } from '../../../../scripts/test-deps.mjs';

// What the Windows tests run on: real PowerShell (scripts/test-deps.mjs
// installs and precompiles it), the native HNS stand-in built with gcc under both DLL names,
// and weft-hns.cs compiled once, as install.ps1 does on a node, by the shipped
// weft-hns-compile.ps1. test/helpers/global-setup.ts calls prepare().

// Not from helpers/tmp.ts: that one registers hooks, and this runs in the global setup too.
const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const cniBin = path.join(repoRoot, 'dist', 'cni-bin');

/** The pwsh the tests start: the precompiled copy scripts/test-deps.mjs makes of the tool. */
export const PWSH: string = testDepsPwsh;

export const STANDIN_DIR = path.join(repoRoot, 'dist', 'hns-standin');
const SOURCE = path.join(import.meta.dirname, 'hns-standin.c');
const ASSEMBLY_CACHE = path.join(repoRoot, 'dist', 'hns-assembly');
const DLL_NAMES = ['vmcompute.dll', 'computenetwork.dll'];

function buildStandin(): void {
  const lib = path.join(STANDIN_DIR, 'hns-standin.so');
  if (fs.existsSync(lib) && fs.statSync(lib).mtimeMs > fs.statSync(SOURCE).mtimeMs) return;
  fs.mkdirSync(STANDIN_DIR, { recursive: true });
  const tmp = `${lib}.${process.pid}.tmp`;
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-fvisibility=hidden', '-o', tmp, SOURCE], { stdio: 'inherit' });
  fs.renameSync(tmp, lib);
  for (const name of DLL_NAMES) {
    fs.rmSync(path.join(STANDIN_DIR, name), { force: true });
    fs.symlinkSync('hns-standin.so', path.join(STANDIN_DIR, name));
  }
}

/** The assembly weft-hns-compile.ps1 writes into dist/cni-bin (kept between runs while its inputs are the same). */
function compileAssembly(): void {
  const inputs = ['weft-hns.cs', 'weft-hns-compile.ps1'].map((f) => fs.readFileSync(path.join(cniBin, f)));
  const key = crypto.createHash('sha256').update(Buffer.concat(inputs)).digest('hex').slice(0, 16);
  const cached = path.join(ASSEMBLY_CACHE, key);
  if (!fs.existsSync(cached)) {
    const out = execFileSync(PWSH, ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', path.join(cniBin, 'weft-hns-compile.ps1')], {
      encoding: 'utf8',
    });
    const dll = out.trim().split(/\r?\n/).pop()!;
    fs.mkdirSync(cached, { recursive: true });
    fs.copyFileSync(dll, path.join(cached, path.basename(dll)));
  }
  for (const f of fs.readdirSync(cached)) fs.copyFileSync(path.join(cached, f), path.join(cniBin, f));
}

export function prepare(): void {
  buildStandin();
  compileAssembly();
}
