// What the test suites need from the machine, and installing it when it is
// missing: `npm test` runs this first, so that on a fresh Debian machine the
// README's test command is all a newcomer types (and all CI runs). When
// everything is present it only looks at a few files and prints nothing.
//
//   node scripts/test-deps.mjs [suite ...]    suites: test (default), stress, build, package, bench
//   node scripts/test-deps.mjs --check ...    never install: name what is missing, exit 1
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The PowerShell the Windows tests run weft-hns.ps1 in, installed as a .NET global tool. */
export const PWSH_VERSION = '7.6.9';
const dotnetTools = path.join(os.homedir(), '.dotnet', 'tools');
const pwshTool = path.join(dotnetTools, '.store', 'powershell', PWSH_VERSION, 'powershell', PWSH_VERSION, 'tools', 'net10.0', 'any', 'unix');

// The global tool ships IL only: every start JIT-compiles PowerShell anew
// (1.3 s of CPU for `exit 0`; 0.5 s precompiled). Windows ships its
// PowerShell precompiled (NGEN, ReadyToRun), so the tests run a copy of the
// tool whose assemblies crossgen2 made ReadyToRun: the same PowerShell, at
// about half the CPU per CNI command.
const precompiled = path.join(os.homedir(), '.cache', 'weft', `powershell-${PWSH_VERSION}-readytorun`);
/** The pwsh the tests start (WEFT_POWERSHELL). */
export const PWSH = path.join(precompiled, 'pwsh');
/** What a CNI command loads (Roslyn, for the Add-Type fallback, is left as IL: a minute to compile, used by few tests). */
const PRECOMPILE = [
  'System.Management.Automation.dll',
  'Microsoft.PowerShell.ConsoleHost.dll',
  'pwsh.dll',
  'Microsoft.PowerShell.Commands.Utility.dll',
  'Microsoft.PowerShell.Commands.Management.dll',
  'Microsoft.PowerShell.Security.dll',
  'Microsoft.PowerShell.SDK.dll',
  'Microsoft.ApplicationInsights.dll',
  'Newtonsoft.Json.dll',
  'System.Configuration.ConfigurationManager.dll',
];

// Not the caller's PATH: root's tools live in sbin, which a user's PATH may lack.
const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const onPath = (cmd) => SEARCH.some((dir) => fs.existsSync(path.join(dir, cmd)));

/**
 * Each need: what is looked for, the Debian package that provides it, and why
 * a suite needs it. `test` needs are also the stress suite's.
 */
const DEBIAN = [
  { deb: 'iproute2', has: () => onPath('ip'), why: 'ip: network namespaces, bridges, veths' },
  { deb: 'util-linux', has: () => onPath('nsenter'), why: 'nsenter: commands inside pod namespaces' },
  { deb: 'procps', has: () => onPath('ps'), why: 'ps: the tests check that no process is left behind' },
  { deb: 'iptables', has: () => onPath('iptables'), why: 'iptables: bridge ipMasq' },
  { deb: 'nftables', has: () => onPath('nft'), why: 'nft: ipMasqBackend nftables and macspoofchk' },
  { deb: 'iputils-ping', has: () => onPath('ping'), why: 'ping: pods reaching each other' },
  { deb: 'containernetworking-plugins', has: () => fs.existsSync('/usr/lib/cni/host-local'), why: 'the reference plugins the tests compare weft with' },
  { deb: 'golang-go', has: () => onPath('go'), why: 'go: builds a libcni client for the interop tests' },
  {
    deb: 'golang-github-appc-cni-dev',
    has: () => fs.existsSync('/usr/share/gocode/src/github.com/containernetworking/cni/libcni'),
    why: 'libcni source for that client',
  },
  { deb: 'mono-mcs', has: () => onPath('mcs'), why: 'mcs: compiles the HNS script\'s C# as C# 5 (Windows PowerShell 5.1\'s language)' },
  { deb: 'gcc', has: () => onPath('gcc'), why: 'gcc: builds the native HNS stand-in the Windows tests load' },
];

/** What `npm run package` needs beyond Node: the C libraries the install images carry, per architecture. */
const BUILD = ['amd64', 'arm64'].flatMap((arch) => {
  const triplet = arch === 'amd64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
  const lib = (f) => () => fs.existsSync(`/usr/${triplet}/lib/${f}`);
  return [
    { deb: `libc6-${arch}-cross`, has: lib('libc.so.6'), why: `the ${arch} install image's C library` },
    { deb: `libgcc-s1-${arch}-cross`, has: lib('libgcc_s.so.1'), why: `the ${arch} install image's libgcc_s` },
    { deb: `libstdc++6-${arch}-cross`, has: lib('libstdc++.so.6'), why: `the ${arch} install image's libstdc++` },
  ];
});

/** The package suite runs the artefacts: the images in containerd, the arm64 build under qemu. */
const PACKAGE = [
  { deb: 'containerd', has: () => onPath('containerd') && onPath('ctr'), why: 'containerd and ctr: import the install image, run containers with --cni' },
  { deb: 'runc', has: () => onPath('runc'), why: "runc: containerd's runtime" },
  {
    deb: 'busybox-static',
    // Debian's other busybox is dynamically linked: no use in an image without a C library.
    has: () => fs.existsSync('/bin/busybox') && !fs.readFileSync('/bin/busybox').subarray(0, 4096).includes('/ld-linux'),
    why: 'a static busybox: the test containers (ping, httpd, wget), built into an image offline',
  },
  {
    deb: 'golang-github-containerd-go-cni-dev',
    has: () => fs.existsSync('/usr/share/gocode/src/github.com/containerd/go-cni/cni.go'),
    why: "go-cni source: a client that sets up and tears down networks the way containerd's CRI does",
  },
  { deb: 'skopeo', has: () => onPath('skopeo'), why: 'skopeo: reads the image archives as docker-archive and oci-archive' },
  { deb: 'qemu-user-static', has: () => onPath('qemu-aarch64-static'), why: 'qemu-aarch64-static: runs the arm64 executables' },
];

/** `npm run bench` (scripts/bench.mjs) beyond the test suite's tools (the reference plugins, Go and libcni for its client). */
const BENCH = [
  { deb: 'hyperfine', has: () => onPath('hyperfine'), why: 'hyperfine: VERSION exec and bare runtime start-up' },
  { deb: 'strace', has: () => onPath('strace'), why: 'strace: the processes one ADD spawns' },
  { deb: 'time', has: () => fs.existsSync('/usr/bin/time'), why: '/usr/bin/time: peak RSS of one plugin process' },
];

const SUITES = { test: DEBIAN, stress: DEBIAN, build: BUILD, package: [...DEBIAN, ...BUILD, ...PACKAGE], bench: [...DEBIAN, ...BENCH] };

const pwshInstalled = () => fs.existsSync(PWSH) && fs.existsSync(pwshTool);

/** What is missing for these suites: Debian packages, and whether PowerShell is. */
export function missing(suites = ['test']) {
  const debs = new Set();
  const why = [];
  for (const suite of suites) {
    for (const need of SUITES[suite] ?? []) {
      if (!debs.has(need.deb) && !need.has()) {
        debs.add(need.deb);
        why.push(`${need.deb} (${need.why})`);
      }
    }
  }
  return { debs: [...debs], why, pwsh: !pwshInstalled() };
}

const say = (line) => process.stderr.write(`test-deps: ${line}\n`);

/** Run a quiet install step; on failure show the end of its output. */
function step(what, cmd, args) {
  say(what);
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status === 0) return true;
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  say(`${cmd} ${args.join(' ')} failed (${r.error ? r.error.message : `exit status ${r.status}`}):\n${out}`);
  return false;
}

function howTo({ debs, pwsh }) {
  const parts = [];
  if (debs.length) parts.push(`apt-get install -y --no-install-recommends ${debs.join(' ')}`);
  if (pwsh) parts.push(`dotnet tool install --global PowerShell --version ${PWSH_VERSION} && node scripts/test-deps.mjs (it precompiles that PowerShell)`);
  return parts.join(' && ');
}

/** The newest .NET runtime beside `dotnet` (crossgen2 of the same version compiles for it). */
function netcoreRuntime(dotnet) {
  const dir = path.join(path.dirname(fs.realpathSync(dotnet)), 'shared', 'Microsoft.NETCore.App');
  const versions = fs.existsSync(dir) ? fs.readdirSync(dir).filter((v) => /^\d+\.\d+\.\d+$/.test(v)) : [];
  const key = (v) => v.split('.').map(Number);
  versions.sort((a, b) => key(a).reduce((d, x, i) => d || x - key(b)[i], 0));
  const version = versions.at(-1);
  return version && { version, dir: path.join(dir, version) };
}

/**
 * The tool's assemblies compiled ReadyToRun into a copy (PWSH): crossgen2
 * comes from NuGet as the runtime's own version, the copy is made under a
 * temporary name and renamed into place whole.
 */
function precompilePowerShell(dotnet) {
  const runtime = netcoreRuntime(dotnet);
  if (!runtime) {
    say(`no Microsoft.NETCore.App runtime beside ${dotnet}, so PowerShell cannot be precompiled`);
    return false;
  }
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  if (!arch) {
    say(`crossgen2 has no build for ${process.arch}, so PowerShell cannot be precompiled`);
    return false;
  }
  // Beside the target, so that the finished copy is renamed, not copied, into place.
  fs.mkdirSync(path.dirname(precompiled), { recursive: true });
  const work = fs.mkdtempSync(`${precompiled}.tmp-`);
  try {
    const pkg = `Microsoft.NETCore.App.Crossgen2.linux-${arch}`;
    fs.writeFileSync(
      path.join(work, 'crossgen.csproj'),
      `<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net${runtime.version.split('.').slice(0, 2).join('.')}</TargetFramework></PropertyGroup>` +
        `<ItemGroup><PackageDownload Include="${pkg}" Version="[${runtime.version}]" /></ItemGroup></Project>\n`,
    );
    const packages = path.join(work, 'packages');
    if (!step(`fetching crossgen2 ${runtime.version} (NuGet)`, dotnet, ['restore', path.join(work, 'crossgen.csproj'), '--packages', packages])) return false;
    const crossgen = path.join(packages, pkg.toLowerCase(), runtime.version, 'tools', 'crossgen2');
    const copy = path.join(work, 'powershell');
    fs.cpSync(pwshTool, copy, { recursive: true, verbatimSymlinks: true });
    say(`precompiling PowerShell ${PWSH_VERSION} (ReadyToRun: ${PRECOMPILE.length} assemblies)`);
    for (const dll of PRECOMPILE) {
      const out = path.join(work, dll);
      const args = ['-r', `${runtime.dir}/`, '-r', `${pwshTool}/`, '--targetos', 'linux', '--targetarch', arch, '-O', path.join(pwshTool, dll), '-o', out];
      const r = spawnSync(crossgen, args, { encoding: 'utf8' });
      if (r.status !== 0) {
        say(`crossgen2 ${dll} failed (${r.error ? r.error.message : `exit status ${r.status}`}):\n${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-10).join('\n')}`);
        return false;
      }
      fs.renameSync(out, path.join(copy, dll));
    }
    fs.rmSync(precompiled, { recursive: true, force: true });
    fs.renameSync(copy, precompiled);
    return true;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Install what is missing, or say in one line why that cannot be done here. Returns an exit status. */
export function ensure(suites, { install = true } = {}) {
  const need = missing(suites);
  if (need.debs.length === 0 && !need.pwsh) return 0;
  const what = [...need.why, ...(need.pwsh ? [`PowerShell ${PWSH_VERSION} (pwsh: runs weft-hns.ps1 in the Windows tests)`] : [])];
  const cannot = !install
    ? 'not installing (--check)'
    : process.getuid?.() !== 0
      ? 'not root, so not installing'
      : need.debs.length && !onPath('apt-get')
        ? 'no apt-get (not Debian), so not installing'
        : need.pwsh && !onPath('dotnet')
          ? 'no dotnet (the .NET SDK installs PowerShell), so not installing'
          : '';
  if (cannot) {
    say(`missing ${what.join('; ')}: ${cannot}; as root on Debian run: ${howTo(need)}`);
    return 1;
  }
  if (need.debs.length) {
    if (!step('apt-get update', 'apt-get', ['update', '-q'])) return 1;
    if (!step(`installing ${need.debs.join(' ')}`, 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...need.debs])) return 1;
  }
  if (need.pwsh) {
    const dotnet = SEARCH.map((d) => path.join(d, 'dotnet')).find((f) => fs.existsSync(f));
    const args = ['tool', 'install', '--global', 'PowerShell', '--version', PWSH_VERSION];
    // A pwsh of another version is replaced, not kept beside.
    if (!fs.existsSync(pwshTool) && fs.existsSync(path.join(dotnetTools, 'pwsh'))) spawnSync(dotnet, ['tool', 'uninstall', '--global', 'PowerShell'], { stdio: 'ignore' });
    if (!fs.existsSync(pwshTool) && !step(`installing PowerShell ${PWSH_VERSION} (dotnet tool)`, dotnet, args)) return 1;
    if (!precompilePowerShell(dotnet)) return 1;
  }
  const left = missing(suites);
  if (left.debs.length || left.pwsh) {
    say(`still missing after installing: ${[...left.why, ...(left.pwsh ? ['pwsh'] : [])].join('; ')}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const suites = args.filter((a) => !a.startsWith('--'));
  for (const s of suites) {
    if (!Object.hasOwn(SUITES, s)) {
      say(`unknown suite "${s}" (${Object.keys(SUITES).join(', ')})`);
      process.exit(2);
    }
  }
  process.exitCode = ensure(suites.length ? suites : ['test'], { install: !args.includes('--check') });
}
