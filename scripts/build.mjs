// Build dist/cni-bin/: weft.cjs (a small launcher, bin/weft.cjs), the bundle
// it runs (weft-main.cjs) with its V8 code cache, and one link per plugin
// type: a ready CNI_PATH folder for the machine's node.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'cni-bin');
export const TYPES = ['flannel', 'host-local', 'bridge', 'win-bridge', 'win-overlay', 'cnitool'];

// Node's built-in modules without esbuild's ES-module shim: `import fs from
// 'node:fs'` in a CommonJS bundle becomes __toESM(require('node:fs')), which
// copies every property of the module (some of node:util's load a dozen more
// modules when read) at each of the ~50 import sites, ~2 ms of every start.
// Each built-in becomes a module whose default export is require()'s answer
// and whose named exports are the ones the sources import by name.
function namedBuiltinImports() {
  const names = new Map();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/import\s*\{([^}]*)\}\s*from\s*'(node:[\w/]+)'/g)) {
          const set = names.get(m[2]) ?? new Set();
          for (const n of m[1].split(',').map((x) => x.trim()).filter((x) => x && !x.startsWith('type '))) set.add(n.split(/\s+as\s+/)[0]);
          names.set(m[2], set);
        }
      }
    }
  };
  for (const dir of ['src', 'bin']) walk(path.join(root, dir));
  return names;
}

const builtinsPlugin = {
  name: 'weft-builtins',
  setup(b) {
    let named;
    b.onResolve({ filter: /^node:/ }, (args) =>
      // The shim's own require() is the real module.
      args.namespace === 'weft-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'weft-builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'weft-builtin' }, (args) => {
      named ??= namedBuiltinImports();
      const exported = [...(named.get(args.path) ?? [])];
      const contents = `const m = require(${JSON.stringify(args.path)});\nexport default m;\n${exported.length ? `export const { ${exported.join(', ')} } = m;\n` : ''}`;
      return { contents, loader: 'js', resolveDir: root };
    });
  },
};

/** esbuild settings shared with the standalone build (scripts/package.mjs). */
export const bundleOptions = {
  plugins: [builtinsPlugin],
  bundle: true,
  platform: 'node',
  // CommonJS starts ~5 ms faster than ESM and is what a Node SEA can embed.
  format: 'cjs',
  // Smaller source is faster to compile when there is no code cache.
  minify: !process.env.WEFT_BUILD_READABLE,
  legalComments: 'none',
  logLevel: 'warning',
};

// Compiles the bundle, initialises every module (so the functions that run
// at start-up are compiled too) and writes V8's code cache. It runs in a
// fresh node with default flags: V8 only accepts a cache made under the
// same flags.
const MAKE_CODE_CACHE = `
const fs = require('node:fs'); const vm = require('node:vm'); const path = require('node:path');
const [main, cache] = process.argv.slice(1);
const script = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + fs.readFileSync(main, 'utf8') + '\\n})', { filename: main });
const bundle = { exports: {} };
script.runInThisContext()(bundle.exports, require, bundle, main, path.dirname(main));
bundle.exports.preloadAll().then(() => fs.writeFileSync(cache, script.createCachedData()));
`;

export async function buildCniBin() {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const main = path.join(outDir, 'weft-main.cjs');
  await build({ ...bundleOptions, entryPoints: [path.join(root, 'bin', 'main.ts')], outfile: main, target: 'node20' });
  execFileSync(process.execPath, ['-e', MAKE_CODE_CACHE, main, path.join(outDir, 'weft-main.cache')], {
    env: { PATH: process.env.PATH },
    stdio: 'inherit',
  });
  const launcher = path.join(outDir, 'weft.cjs');
  fs.copyFileSync(path.join(root, 'bin', 'weft.cjs'), launcher);
  fs.chmodSync(launcher, 0o755);
  // The links have no extension; this keeps node from reading them as ES modules.
  fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"commonjs"}\n');
  for (const type of TYPES) fs.symlinkSync('weft.cjs', path.join(outDir, type));
  const scripts = path.join(root, 'src', 'os', 'windows', 'scripts');
  for (const extra of fs.existsSync(scripts) ? fs.readdirSync(scripts) : []) {
    fs.copyFileSync(path.join(scripts, extra), path.join(outDir, extra));
  }
  process.stdout.write(`built ${path.relative(root, outDir)}: weft.cjs + ${TYPES.join(', ')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCniBin();
