// npm run package: standalone executables (Node SEA) and the packages in
// dist/packages/: for Linux x64 and arm64 a tarball, a .deb and an install
// image (an OCI image archive, see packaging/README.md), and the Windows zip.
// Inputs are pinned (packaging/runtime.json, and the Debian cross C
// libraries the images carry) and timestamps come from SOURCE_DATE_EPOCH or
// the last commit, so the same sources give the same bytes.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { inject } from 'postject';
import { bundleOptions } from './build.mjs';
import { capture, layerFrom, writeImageArchive } from './lib/oci.mjs';
import { stripAuthenticode } from './lib/pe.mjs';
import { writeZip } from './lib/zip.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const cacheDir = path.join(dist, '.cache');
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const runtimes = JSON.parse(fs.readFileSync(path.join(root, 'packaging', 'runtime.json'), 'utf8'));
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export const LINUX_NAMES = ['flannel', 'host-local', 'bridge', 'cnitool'];
export const WINDOWS_NAMES = ['flannel', 'host-local', 'win-bridge', 'win-overlay', 'cnitool'];

/**
 * The Linux architectures: the Node runtime, Debian's and OCI's names, and
 * the C libraries the executable links (from Debian's <triplet>-cross
 * packages, so both images are built the same way on any build machine).
 */
export const LINUX_ARCHES = [
  { runtime: 'linux-x64', deb: 'amd64', platform: { architecture: 'amd64', os: 'linux' }, triplet: 'x86_64-linux-gnu', loader: 'lib64/ld-linux-x86-64.so.2' },
  { runtime: 'linux-arm64', deb: 'arm64', platform: { architecture: 'arm64', os: 'linux', variant: 'v8' }, triplet: 'aarch64-linux-gnu', loader: 'lib/ld-linux-aarch64.so.1' },
];
const C_LIBRARIES = ['libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'libgcc_s.so.1', 'libstdc++.so.6'];

/** The install image's name (and tag) as the archives carry it. */
export const IMAGE_NAME = `localhost/weft-install:${version}`;
/** Where the image keeps weft, apart from the host folders it installs into. */
const IMAGE_HOME = 'opt/weft';

const log = (msg) => process.stderr.write(`package: ${msg}\n`);

function sourceDateEpoch() {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' }).trim());
  } catch {
    return 1_700_000_000;
  }
}

const sha512 = (file) => `sha512-${crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;

/** The Node binary of a pinned npm runtime package, downloaded once into dist/.cache. */
function runtimeBinary(platform) {
  const rt = runtimes[platform];
  const tgz = path.join(cacheDir, `${rt.package}-${rt.version}.tgz`);
  if (!fs.existsSync(tgz) || sha512(tgz) !== rt.integrity) {
    fs.mkdirSync(cacheDir, { recursive: true });
    log(`fetching ${rt.package}@${rt.version}`);
    execFileSync('npm', ['pack', `${rt.package}@${rt.version}`, '--pack-destination', cacheDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (sha512(tgz) !== rt.integrity) throw new Error(`${tgz}: integrity mismatch (expected ${rt.integrity})`);
  }
  const dir = path.join(cacheDir, `${rt.package}-${rt.version}`);
  const bin = path.join(dir, rt.binary);
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', dir, rt.binary]);
  }
  return bin;
}

/**
 * The two scripts of a standalone executable: the bundle (bin/main.ts), which
 * travels as a SEA asset, and the entry that compiles it (bin/weft-sea.ts),
 * told the bundle's digest so that it only ever uses a code cache made from it.
 */
async function bundleSeaScripts(seaDir) {
  const main = path.join(seaDir, 'weft-main.cjs');
  await build({ ...bundleOptions, entryPoints: [path.join(root, 'bin', 'main.ts')], outfile: main, target: 'node24' });
  const digest = crypto.createHash('sha256').update(fs.readFileSync(main, 'utf8')).digest('hex').slice(0, 16);
  const entry = path.join(seaDir, 'weft-sea.cjs');
  await build({
    ...bundleOptions,
    entryPoints: [path.join(root, 'bin', 'weft-sea.ts')],
    outfile: entry,
    target: 'node24',
    define: { WEFT_BUNDLE_DIGEST: JSON.stringify(digest) },
  });
  return { entry, main };
}

/** postject's ELF/PE rewriter chatters about section names it does not know; keep the build output readable. */
async function quietly(fn) {
  const saved = { log: console.log, warn: console.warn, error: console.error };
  const chatter = [];
  console.log = console.warn = console.error = (...a) => chatter.push(a.join(' '));
  try {
    return await fn();
  } catch (e) {
    process.stderr.write(chatter.join('\n'));
    throw e;
  } finally {
    Object.assign(console, saved);
  }
}

/** Make the SEA blob (the entry script plus the bundle as an asset) and inject it into a copy of `nodeBinary`. */
async function makeExecutable({ scripts, nodeBinary, builder, output }) {
  const blob = `${output}.blob`;
  const config = `${output}.sea.json`;
  // The blob records the paths it was given: relative ones (from the scripts'
  // directory) keep it the same wherever the build runs.
  const dir = path.dirname(scripts.entry);
  fs.writeFileSync(
    config,
    JSON.stringify({
      main: path.relative(dir, scripts.entry),
      output: path.relative(dir, blob),
      disableExperimentalSEAWarning: true,
      // No snapshot and no built-in code cache: both would tie the blob to the
      // build (pid, random seeds) and the snapshot starts slower than a code
      // cache made on the node (bin/weft-sea.ts).
      useSnapshot: false,
      useCodeCache: false,
      // A young generation that an ADD or DEL never fills: without it V8
      // scavenged twice per command (~8M instructions); +0.3 MiB peak RSS
      // (packaging/README.md). The code cache is made under the same options.
      execArgv: ['--min-semi-space-size=16'],
      assets: { 'weft-main.cjs': path.relative(dir, scripts.main) },
    }),
  );
  execFileSync(builder, ['--no-warnings', '--experimental-sea-config', config], { cwd: dir, stdio: 'pipe', env: { PATH: process.env.PATH } });
  fs.rmSync(config);
  fs.copyFileSync(nodeBinary, output);
  fs.chmodSync(output, 0o755);
  if (output.endsWith('.exe')) stripAuthenticode(output);
  await quietly(() => inject(output, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SEA_FUSE }));
  fs.rmSync(blob);
}

function stage(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function copyInto(dir, rel, from, mode = 0o644) {
  const to = path.join(dir, rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  fs.chmodSync(to, mode);
}

/** One executable file, the other names hard links to it (weft recognises itself and delegates in process). */
function placeExecutables(binDir, exe, names, ext = '') {
  fs.mkdirSync(binDir, { recursive: true });
  const main = path.join(binDir, `${names[0]}${ext}`);
  fs.copyFileSync(exe, main);
  fs.chmodSync(main, 0o755);
  for (const n of names.slice(1)) fs.linkSync(main, path.join(binDir, `${n}${ext}`));
}

// gzip -6: a third of -9's time on these executables for 0.6 % more bytes.
async function tarGz(srcParent, srcName, out, epoch) {
  const tar = await capture('tar', ['--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--mode=go-w', '-C', srcParent, '-cf', '-', srcName]);
  fs.writeFileSync(out, await capture('gzip', ['-6n'], tar));
}

function setTimes(dir, epoch) {
  const t = new Date(epoch * 1000);
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath ?? e.path, e.name);
    fs.lutimesSync(p, t, t);
  }
  fs.utimesSync(dir, t, t);
}

const confFiles = (sub) => {
  const dir = path.join(root, 'conf', sub);
  return fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort().map((f) => [f, path.join(dir, f)]);
};

async function linuxTarball(arch, exe, epoch, outDir) {
  const name = `weft-${version}-${arch.runtime}`;
  const parent = stage(path.join(outDir, `.stage-tar-${arch.deb}`));
  const dir = path.join(parent, name);
  placeExecutables(path.join(dir, 'bin'), exe, LINUX_NAMES);
  for (const [f, p] of confFiles('linux')) copyInto(dir, `conf/${f}`, p);
  copyInto(dir, 'INSTALL', path.join(root, 'packaging', 'linux', 'INSTALL'));
  setTimes(dir, epoch);
  const out = path.join(outDir, `${name}.tar.gz`);
  await tarGz(parent, name, out, epoch);
  fs.rmSync(parent, { recursive: true });
  return out;
}

async function debianPackage(arch, exe, epoch, outDir) {
  const dir = stage(path.join(outDir, `.stage-deb-${arch.deb}`));
  placeExecutables(path.join(dir, 'opt', 'cni', 'bin'), exe, LINUX_NAMES);
  for (const [f, p] of confFiles('linux')) copyInto(dir, `usr/share/weft/examples/${f}`, p);
  copyInto(dir, 'usr/share/doc/weft/INSTALL', path.join(root, 'packaging', 'linux', 'INSTALL'));
  const deb = path.join(root, 'packaging', 'deb');
  const installedKb = Math.ceil(fs.statSync(exe).size / 1024);
  const control = fs.readFileSync(path.join(deb, 'control'), 'utf8').replace('@VERSION@', version).replace('@ARCH@', arch.deb).replace('@INSTALLED_SIZE@', String(installedKb));
  fs.mkdirSync(path.join(dir, 'DEBIAN'));
  fs.writeFileSync(path.join(dir, 'DEBIAN', 'control'), control);
  for (const script of ['preinst', 'postinst', 'postrm']) copyInto(dir, `DEBIAN/${script}`, path.join(deb, script), 0o755);
  setTimes(dir, epoch);
  const out = path.join(outDir, `weft_${version}_${arch.deb}.deb`);
  // xz -1: 20 s of CPU for the 121 MiB executable where dpkg's default -6
  // takes 94 s (each .deb, each build), for a package of 32.5 MiB, not 28.
  await capture('env', [`SOURCE_DATE_EPOCH=${epoch}`, 'dpkg-deb', '--root-owner-group', '-Zxz', '-z1', '--build', dir, out]);
  fs.rmSync(dir, { recursive: true });
  return out;
}

/** The folder of Debian's cross C libraries for this architecture (libc6-<arch>-cross and friends). */
function crossLibraries(arch) {
  const dir = `/usr/${arch.triplet}/lib`;
  const absent = [path.basename(arch.loader), ...C_LIBRARIES].filter((f) => !fs.existsSync(path.join(dir, f)));
  if (absent.length) {
    const debs = ['libc6', 'libgcc-s1', 'libstdc++6'].map((p) => `${p}-${arch.deb}-cross`).join(' ');
    throw new Error(`${dir} lacks ${absent.join(', ')}: the ${arch.deb} install image needs them (apt-get install ${debs}, or node scripts/test-deps.mjs build)`);
  }
  return dir;
}

/**
 * The install image: weft's executables and the conflist under /opt/weft,
 * the C libraries the executable links, and the installer as entrypoint
 * (bin/weft-install.ts). One layer; nothing else (no shell).
 */
async function installImage(arch, exe, epoch, outDir) {
  const libs = crossLibraries(arch);
  const dir = stage(path.join(outDir, `.stage-image-${arch.deb}`));
  placeExecutables(path.join(dir, IMAGE_HOME, 'bin'), exe, LINUX_NAMES);
  for (const [f, p] of confFiles('linux')) copyInto(dir, `${IMAGE_HOME}/conf/${f}`, p);
  copyInto(dir, arch.loader, path.join(libs, path.basename(arch.loader)), 0o755);
  for (const lib of C_LIBRARIES) copyInto(dir, `lib/${lib}`, path.join(libs, lib), 0o755);
  setTimes(dir, epoch);
  const top = [...new Set(['lib', arch.loader.split('/')[0], 'opt'])];
  const layer = await layerFrom(dir, top, epoch);
  fs.rmSync(dir, { recursive: true });
  const out = path.join(outDir, `weft-${version}-install-image-linux-${arch.deb}.tar`);
  await writeImageArchive(out, {
    name: IMAGE_NAME,
    platform: arch.platform,
    layers: [layer],
    epoch,
    config: {
      Entrypoint: [`/${IMAGE_HOME}/bin/flannel`, '--weft-install'],
      Env: [`PATH=/${IMAGE_HOME}/bin`],
      WorkingDir: '/',
      Labels: {
        'org.opencontainers.image.title': 'weft-install',
        'org.opencontainers.image.description': "Installs weft's CNI plugins into a node's CNI bin folder",
        'org.opencontainers.image.version': version,
      },
    },
  });
  return out;
}

function windowsZip(exe, epoch, outDir) {
  // One executable: install.ps1 gives it every name (as hard links) on the node.
  const entries = [{ name: 'weft.exe', data: fs.readFileSync(exe) }];
  const scripts = path.join(root, 'src', 'os', 'windows', 'scripts');
  if (fs.existsSync(scripts)) {
    for (const f of fs.readdirSync(scripts).sort()) entries.push({ name: f, data: fs.readFileSync(path.join(scripts, f)) });
  }
  entries.push({ name: 'install.ps1', data: fs.readFileSync(path.join(root, 'packaging', 'windows', 'install.ps1')) });
  entries.push({ name: 'INSTALL.txt', data: fs.readFileSync(path.join(root, 'packaging', 'windows', 'INSTALL.txt')) });
  for (const [f, p] of confFiles('windows')) entries.push({ name: `conf/${f}`, data: fs.readFileSync(p) });
  const out = path.join(outDir, `weft-${version}-windows-x64.zip`);
  writeZip(out, entries, new Date(epoch * 1000));
  return out;
}

/** Only the Linux x64 standalone executable (for benchmarks): dist/sea/weft. */
export async function buildLinuxExecutable({ seaDir = path.join(dist, 'sea') } = {}) {
  fs.mkdirSync(seaDir, { recursive: true });
  const scripts = await bundleSeaScripts(seaDir);
  const linuxNode = runtimeBinary('linux-x64');
  const linuxExe = path.join(seaDir, 'weft');
  await makeExecutable({ scripts, nodeBinary: linuxNode, builder: linuxNode, output: linuxExe });
  return linuxExe;
}

/**
 * Build both executables into `seaDir` and the packages into `outDir`
 * (defaults: dist/sea and dist/packages).
 */
export async function buildPackages({ seaDir = path.join(dist, 'sea'), outDir = path.join(dist, 'packages') } = {}) {
  const epoch = sourceDateEpoch();
  fs.mkdirSync(seaDir, { recursive: true });
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const scripts = await bundleSeaScripts(seaDir);
  // The SEA blob holds only scripts: the x64 runtime makes it for every target.
  const builder = runtimeBinary('linux-x64');
  const linux = [];
  for (const arch of LINUX_ARCHES) {
    log(`building the Linux ${arch.deb} executable`);
    const exe = path.join(seaDir, arch.deb === 'amd64' ? 'weft' : `weft-${arch.deb}`);
    await makeExecutable({ scripts, nodeBinary: runtimeBinary(arch.runtime), builder, output: exe });
    linux.push({ arch, exe });
  }
  log('building the Windows executable');
  const windowsExe = path.join(seaDir, 'weft.exe');
  await makeExecutable({ scripts, nodeBinary: runtimeBinary('windows-x64'), builder, output: windowsExe });
  const linuxExe = linux[0].exe;

  log('writing the packages');
  const perArch = await Promise.all(
    linux.map(({ arch, exe }) => Promise.all([linuxTarball(arch, exe, epoch, outDir), debianPackage(arch, exe, epoch, outDir), installImage(arch, exe, epoch, outDir)])),
  );
  const outputs = [...perArch.flat(), windowsZip(windowsExe, epoch, outDir)];
  const sums = outputs.map((f) => `${crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex')}  ${path.basename(f)}`);
  fs.writeFileSync(path.join(outDir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
  for (const f of [...linux.map((l) => l.exe), windowsExe, ...outputs]) {
    process.stdout.write(`${path.relative(root, f).padEnd(56)} ${(fs.statSync(f).size / 1048576).toFixed(1)} MiB\n`);
  }
  return { linuxExe, arm64Exe: linux[1].exe, windowsExe, outputs, version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildPackages();
