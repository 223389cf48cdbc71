// Build dist/cni-bin/: one bundled executable (weft.cjs) and one link per
// plugin type, ready to be used as CNI_PATH with the machine's node.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'cni-bin');
export const TYPES = ['flannel', 'host-local', 'bridge', 'win-bridge', 'win-overlay', 'cnitool'];

export async function bundle({ outfile, define = {}, minify = false } = {}) {
  await build({
    entryPoints: [path.join(root, 'bin', 'weft.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    // CommonJS starts ~5 ms faster than ESM and is what a Node SEA can embed.
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
    define,
    minify,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

export async function buildCniBin() {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const outfile = path.join(outDir, 'weft.cjs');
  await bundle({ outfile });
  fs.chmodSync(outfile, 0o755);
  // The links have no extension; this keeps node from reading them as ES modules.
  fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"commonjs"}\n');
  for (const type of TYPES) fs.symlinkSync('weft.cjs', path.join(outDir, type));
  for (const extra of fs.existsSync(path.join(root, 'src', 'os', 'windows', 'scripts'))
    ? fs.readdirSync(path.join(root, 'src', 'os', 'windows', 'scripts'))
    : []) {
    fs.copyFileSync(path.join(root, 'src', 'os', 'windows', 'scripts', extra), path.join(outDir, extra));
  }
  process.stdout.write(`built ${path.relative(root, outDir)}: weft.cjs + ${TYPES.join(', ')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCniBin();
