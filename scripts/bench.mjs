// npm run bench: weft beside the reference Go plugins, measured in one run.
//
//  1. ADD+DEL cycle of kube-flannel's chain: weft (flannel -> bridge ->
//     host-local in one process, + portmap) against the reference chain
//     (bridge -> host-local, + portmap) with the config flannel would build;
//     interleaved pairs, through weft's cnitool and through a Go libcni client.
//  2. The same cycle with 0, 1k, 10k and 65k leases in the node's /16, and
//     host-local alone (exec'd as an IPAM plugin) at 65k.
//  3. 64 pods ADDed at once: wall time, distinct IPs, failures.
//  4. Processes spawned per ADD, peak RSS per invocation, start-up cost.
//  5. weft-hns.ps1 per CNI command under PowerShell 7 (pwsh, as the tests run
//     it): with the assembly install.ps1 precompiles, and compiling the C#
//     with Add-Type as without it; and the install-time compile itself.
//     (--only=windows runs just this part.)
//  6. A profile of one flannel ADD and one DEL (WEFT_PROFILE): where each
//     millisecond goes, as a table, so that a regression shows.
//  7. The goals of issue 16 as ratios of figures measured above.
// weft runs as the standalone executable (dist/sea/weft, the shipped form),
// installed into each node's CNI bin folder with `--weft-install`, as
// packaging/linux/INSTALL says (which builds the code cache).
// Figures go to stdout as tables and to dist/bench/ as JSON and an SVG
// chart. Everything runs in network namespaces the script creates, as root.
// The machine's load average is printed at the start and the end: above ~1.5
// on two cores the timings mean little.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { profileTable } from './lib/profile.mjs';
import { LINUX_NAMES } from './package.mjs';
import { PWSH } from './test-deps.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'bench');
const REF = '/usr/lib/cni';
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
// --quick: every part once, small (a check that the bench runs; its figures decide nothing).
const QUICK = 'quick' in args;
const PAIRS = Number(args.pairs ?? (QUICK ? 3 : 21));
const SCALE_PAIRS = Number(args['scale-pairs'] ?? (QUICK ? 3 : 5));
const PARALLEL = Number(args.parallel ?? (QUICK ? 8 : 64));
// The issue's figure is at 65,524 leases: the /16 full but for the gateway and ten free addresses.
const GOAL_LEASES = 65524;
const SCALES = (args.scales ?? (QUICK ? '0,1000' : `0,1000,10000,${GOAL_LEASES}`)).split(',').map(Number);
const PROFILE_RUNS = Number(args['profile-runs'] ?? (QUICK ? 3 : 15));
const STARTUP_ROUNDS = Number(args['startup-rounds'] ?? (QUICK ? 2 : 8));

// Timing children must not pay for the environment's extra CA bundle (~80 ms per Node start).
const baseEnv = { PATH: process.env.PATH };

const log = (m) => process.stderr.write(`bench: ${m}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (ns) => Number(ns) / 1e6;

function sh(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...opts });
}

// ---------------------------------------------------------------- setup

function requirements() {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces, bridges)');
  for (const p of ['bridge', 'host-local', 'portmap']) {
    if (!fs.existsSync(path.join(REF, p))) throw new Error(`${REF}/${p} missing: apt-get install containernetworking-plugins`);
  }
}

async function buildWeft() {
  log('building dist/cni-bin and the standalone executable');
  const { buildCniBin } = await import('./build.mjs');
  await buildCniBin();
  const { buildLinuxExecutable } = await import('./package.mjs');
  return buildLinuxExecutable();
}

/** The Go libcni client of the interop tests, built once (Debian's libcni 1.1.2). */
function buildLibcniClient(work) {
  const bin = path.join(work, 'libcni-client');
  try {
    execFileSync('go', ['build', '-o', bin, '.'], {
      cwd: path.join(root, 'test', 'cnitool', 'libcni-client'),
      env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '', GOCACHE: path.join(os.tmpdir(), 'weft-go-build-cache') },
      stdio: 'pipe',
    });
    return bin;
  } catch {
    log('no Go libcni client (apt-get install golang-go golang-github-appc-cni-dev): measuring through cnitool only');
    return undefined;
  }
}

const namespaces = new Set();
function netns(name) {
  sh('ip', ['netns', 'add', name]);
  namespaces.add(name);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return { name, path: `/var/run/netns/${name}` };
}
function cleanupNamespaces() {
  for (const n of namespaces) spawnSync('ip', ['netns', 'del', n]);
  namespaces.clear();
}

const SUBNET = '10.244.0.0/16';

/** One node per chain: a host namespace, a CNI_PATH, a net.d, a cache and a lease store. */
function makeNode(kind, work, seaExe) {
  const dir = path.join(work, kind);
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(path.join(dir, 'net.d'));
  const leases = path.join(dir, 'leases');
  if (kind === 'weft') {
    // As packaging/linux/INSTALL says: from the tarball's bin/ (one file, every
    // name a hard link of it), every name and the code cache built on this node.
    const pkg = path.join(dir, 'package-bin');
    fs.mkdirSync(pkg);
    for (const n of LINUX_NAMES) fs.linkSync(seaExe, path.join(pkg, n));
    sh(path.join(pkg, LINUX_NAMES[0]), ['--weft-install', '--bin-dir', bin], { env: baseEnv });
  } else {
    // The reference node has weft's cnitool only, as the driver of the cnitool figures.
    fs.linkSync(seaExe, path.join(bin, 'cnitool'));
    sh(path.join(bin, 'cnitool'), ['--weft-build-code-cache'], { env: baseEnv });
  }
  for (const n of kind === 'weft' ? ['portmap'] : ['bridge', 'host-local', 'portmap']) fs.symlinkSync(path.join(REF, n), path.join(bin, n));
  const subnetEnv = path.join(dir, 'subnet.env');
  fs.writeFileSync(subnetEnv, `FLANNEL_NETWORK=10.0.0.0/8\nFLANNEL_SUBNET=10.244.0.1/16\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n`);
  // kube-flannel's conflist; for the reference, the bridge config flannel would hand to its delegate.
  const first =
    kind === 'weft'
      ? { type: 'flannel', subnetFile: subnetEnv, dataDir: path.join(dir, 'flannel'), ipam: { dataDir: leases }, delegate: { hairpinMode: true, isDefaultGateway: true } }
      : {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          isDefaultGateway: true,
          hairpinMode: true,
          ipMasq: false,
          mtu: 1450,
          ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], routes: [{ dst: '10.0.0.0/8' }], dataDir: leases },
        };
  const conflist = { name: 'cbr0', cniVersion: '0.3.1', plugins: [first, { type: 'portmap', capabilities: { portMappings: true } }] };
  fs.writeFileSync(path.join(dir, 'net.d', '10-flannel.conflist'), JSON.stringify(conflist));
  const host = netns(`wb-${kind}-${crypto.randomBytes(2).toString('hex')}`);
  const env = { ...baseEnv, NETCONFPATH: path.join(dir, 'net.d'), CNI_PATH: bin, CNI_CACHE_DIR: path.join(dir, 'cache') };
  return { kind, dir, bin, leases, host, env, conflist };
}

// ---------------------------------------------------------------- drivers

/** Run one command in the node's host namespace and time it (wall clock). */
function timed(node, argv, extraEnv = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', node.host.name, ...argv], { env: { ...node.env, ...extraEnv }, encoding: 'utf8' });
  const t = ms(process.hrtime.bigint() - t0);
  if (r.status !== 0) throw new Error(`${node.kind}: ${argv.join(' ')} failed: ${r.stderr || r.stdout}`);
  return { t, stdout: r.stdout };
}

const drivers = {
  cnitool: (node, verb, pod) => timed(node, [path.join(node.bin, 'cnitool'), verb, 'cbr0', pod.path]),
  libcni: (node, verb, pod, client) =>
    timed(node, [client, verb, path.join(node.dir, 'net.d'), 'cbr0', `bench-${pod.name}`, pod.path, 'eth0']),
};

function cycle(node, pod, driver, client) {
  const add = drivers[driver](node, 'add', pod, client);
  const del = drivers[driver](node, 'del', pod, client);
  return { add: add.t, del: del.t, cycle: add.t + del.t, result: add.stdout };
}

/** Interleaved pairs, alternating which chain goes first, after one warm-up cycle each. */
function pairs(nodes, pods, n, driver, client) {
  for (const k of ['weft', 'ref']) cycle(nodes[k], pods[k], driver, client);
  const runs = { weft: [], ref: [] };
  for (let i = 0; i < n; i++) {
    const order = i % 2 ? ['ref', 'weft'] : ['weft', 'ref'];
    for (const k of order) runs[k].push(cycle(nodes[k], pods[k], driver, client));
  }
  const sum = (k, f) => median(runs[k].map((r) => r[f]));
  const ratios = runs.weft.map((w, i) => w.cycle / runs.ref[i].cycle);
  return {
    weft: { add: sum('weft', 'add'), del: sum('weft', 'del'), cycle: sum('weft', 'cycle') },
    ref: { add: sum('ref', 'add'), del: sum('ref', 'del'), cycle: sum('ref', 'cycle') },
    ratio: sum('weft', 'cycle') / sum('ref', 'cycle'),
    medianPairRatio: median(ratios),
    n,
  };
}

// ---------------------------------------------------------------- scale

/** Fill the node's store with `count` leases in the /16 (both plugins read this format). */
function prefill(node, count) {
  const dir = path.join(node.leases, 'cbr0');
  fs.rmSync(node.leases, { recursive: true, force: true });
  fs.rmSync(path.join(node.dir, 'cache'), { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let last = '';
  for (let i = 0; i < count; i++) {
    const n = i + 2; // .0.1 is the gateway
    last = `10.244.${n >> 8}.${n & 255}`;
    fs.writeFileSync(path.join(dir, last), `prefill-${i}\r\neth0`, { mode: 0o600 });
  }
  if (last) fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), last, { mode: 0o600 });
}

/**
 * host-local alone, exec'd as a runtime would exec an IPAM plugin: ADD+DEL
 * cycles against the store as it is, interleaved with the reference's.
 * (The goal at 65,524 leases is host-local's; the chain's cycle at that
 * scale is mostly process starts and the kernel's work.)
 */
function hostLocalPairs(nodes, pods, n) {
  const cycleOf = (k) => {
    const node = nodes[k];
    const exe = k === 'weft' ? path.join(node.bin, 'host-local') : path.join(REF, 'host-local');
    const input = JSON.stringify({ cniVersion: '0.3.1', name: 'cbr0', type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: node.leases } });
    const env = { ...baseEnv, CNI_CONTAINERID: 'bench-host-local', CNI_NETNS: pods[k].path, CNI_IFNAME: 'eth0', CNI_PATH: node.bin };
    const t0 = process.hrtime.bigint();
    for (const command of ['ADD', 'DEL']) {
      const r = spawnSync(exe, [], { env: { ...env, CNI_COMMAND: command }, input, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${k} host-local ${command} failed: ${r.stdout}${r.stderr}`);
    }
    return ms(process.hrtime.bigint() - t0);
  };
  for (const k of ['weft', 'ref']) cycleOf(k);
  const runs = { weft: [], ref: [] };
  for (let i = 0; i < n; i++) for (const k of i % 2 ? ['ref', 'weft'] : ['weft', 'ref']) runs[k].push(cycleOf(k));
  return { weft: median(runs.weft), ref: median(runs.ref), n };
}

// ---------------------------------------------------------------- parallel

function runAsync(node, argv) {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', node.host.name, ...argv], { env: node.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b) => (out += b));
    c.stderr.on('data', (b) => (err += b));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

async function parallelAdds(node, count) {
  prefill(node, 0);
  const pods = Array.from({ length: count }, (_, i) => netns(`wbp-${node.kind}-${i}-${crypto.randomBytes(2).toString('hex')}`));
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(pods.map((p) => runAsync(node, [path.join(node.bin, 'cnitool'), 'add', 'cbr0', p.path])));
  const wall = ms(process.hrtime.bigint() - t0);
  const ok = results.filter((r) => r.code === 0);
  const ips = ok.map((r) => JSON.parse(r.out).ips[0].address);
  await Promise.all(pods.map((p) => runAsync(node, [path.join(node.bin, 'cnitool'), 'del', 'cbr0', p.path])));
  for (const p of pods) {
    spawnSync('ip', ['netns', 'del', p.name]);
    namespaces.delete(p.name);
  }
  return { wall, ok: ok.length, failures: count - ok.length, uniqueIps: new Set(ips).size, firstError: results.find((r) => r.code !== 0)?.err.trim() };
}

// ---------------------------------------------------------------- processes, memory, start-up

/** execve calls one cnitool ADD causes, cnitool itself excluded. */
function spawnsPerAdd(node, pod) {
  const trace = path.join(node.dir, 'strace.out');
  spawnSync('ip', ['netns', 'exec', node.host.name, 'strace', '-f', '-qq', '-e', 'trace=execve', '-o', trace, path.join(node.bin, 'cnitool'), 'add', 'cbr0', pod.path], { env: node.env });
  const execs = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => /execve\(/.test(l) && !/ = -1 /.test(l));
  drivers.cnitool(node, 'del', pod);
  const programs = execs.map((l) => path.basename(/execve\("([^"]+)"/.exec(l)[1]));
  return { count: programs.length - 1, programs: programs.slice(1) };
}

/**
 * Drop `file` from the page cache. A file just written sits there in large
 * folios, and a process mapping it then counts whole folios as resident:
 * weft's VERSION peaked at 61-76 MiB right after a build, 44.7 MiB once the
 * pages came back by faults, as they do on a node after boot.
 */
const dropPageCache = (file) => sh('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);

/** Peak RSS (MiB) of one plugin process, run the way cnitool would run the first plugin of the chain. */
function peakRss(node, pod) {
  dropPageCache(fs.realpathSync(path.join(node.bin, node.conflist.plugins[0].type)));
  const conf = JSON.parse(fs.readFileSync(path.join(node.dir, 'net.d', '10-flannel.conflist'), 'utf8'));
  const plugin = { ...conf.plugins[0], name: conf.name, cniVersion: conf.cniVersion };
  const env = { ...baseEnv, CNI_CONTAINERID: 'rss', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', CNI_PATH: node.bin };
  const rss = (command) => {
    const out = spawnSync('ip', ['netns', 'exec', node.host.name, '/usr/bin/time', '-f', '%M', path.join(node.bin, plugin.type)], {
      env: { ...env, CNI_COMMAND: command },
      input: JSON.stringify(plugin),
      encoding: 'utf8',
    });
    return Number(out.stderr.trim().split('\n').pop()) / 1024;
  };
  return { add: rss('ADD'), del: rss('DEL') };
}

// ---------------------------------------------------------------- profile

const epochMs = () => performance.timeOrigin + performance.now();

/**
 * One flannel ADD and DEL, run as a runtime runs the first plugin of the
 * chain, `runs` times each with WEFT_PROFILE, and the parent's clock around
 * each spawn. The `ip netns exec` wrapper's own cost is measured apart.
 */
function profileCommands(node, pod, runs) {
  const plugin = { ...node.conflist.plugins[0], name: node.conflist.name, cniVersion: node.conflist.cniVersion };
  const file = path.join(node.dir, 'profile.jsonl');
  const wrapper = [];
  for (let i = 0; i < 15; i++) {
    const t0 = epochMs();
    spawnSync('ip', ['netns', 'exec', node.host.name, 'true'], { env: baseEnv });
    wrapper.push(epochMs() - t0);
  }
  const wrapperMs = median(wrapper);
  const out = { ADD: [], DEL: [] };
  const once = (command) => {
    fs.rmSync(file, { force: true });
    const env = { ...baseEnv, CNI_COMMAND: command, CNI_CONTAINERID: 'profile', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', CNI_PATH: node.bin, WEFT_PROFILE: file };
    const spawnedAt = epochMs();
    const r = spawnSync('ip', ['netns', 'exec', node.host.name, path.join(node.bin, plugin.type)], { env, input: JSON.stringify(plugin), encoding: 'utf8' });
    const exitedAt = epochMs();
    if (r.status !== 0) throw new Error(`profile ${command}: ${r.stdout}${r.stderr}`);
    return { doc: JSON.parse(fs.readFileSync(file, 'utf8')), spawnedAt, exitedAt, wrapperMs };
  };
  once('ADD');
  once('DEL');
  for (let i = 0; i < runs; i++) for (const c of ['ADD', 'DEL']) out[c].push(once(c));
  fs.rmSync(file, { force: true });
  return out;
}

/**
 * Wall (median of every run) and CPU (user + system, mean) of each command,
 * hyperfine in `rounds` rounds that take the commands in turn, so that a
 * change in the machine's load falls on all of them alike.
 */
function startupTimes(commands, rounds) {
  const json = path.join(os.tmpdir(), `weft-hf-${process.pid}.json`);
  const wall = commands.map(() => []);
  const cpu = commands.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of commands.entries()) {
      sh('hyperfine', ['-N', '-w', '2', '-r', '10', '--export-json', json, c], { env: baseEnv });
      const [res] = JSON.parse(fs.readFileSync(json, 'utf8')).results;
      wall[i].push(...res.times.map((t) => t * 1000));
      cpu[i].push((res.user + res.system) * 1000);
    }
  }
  fs.rmSync(json);
  return commands.map((_, i) => ({ wall: median(wall[i]), cpu: cpu[i].reduce((a, b) => a + b, 0) / rounds }));
}

/** Peak RSS (MiB) of one run of `argv`, median of five. */
function peakRssOf(argv, env) {
  dropPageCache(argv[0]);
  const one = () => Number(spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { env, encoding: 'utf8' }).stderr.trim().split('\n').pop()) / 1024;
  return median(Array.from({ length: 5 }, one));
}

/** The Node binary the standalone executable embeds (packaging/runtime.json; scripts/package.mjs fetched it). */
function embeddedRuntime() {
  const rt = JSON.parse(fs.readFileSync(path.join(root, 'packaging', 'runtime.json'), 'utf8'))['linux-x64'];
  return { version: rt.version, bin: path.join(root, 'dist', '.cache', `${rt.package}-${rt.version}`, rt.binary) };
}

function startup(seaExe) {
  const runtime = embeddedRuntime();
  const sea = path.join(outDir, 'sea', 'bridge');
  fs.rmSync(path.dirname(sea), { recursive: true, force: true });
  fs.mkdirSync(path.dirname(sea));
  fs.linkSync(seaExe, sea);
  sh(sea, ['--weft-build-code-cache']);
  const cniBin = path.join(root, 'dist', 'cni-bin', 'bridge');
  const [node, bare, script, seaV, ref] = startupTimes(
    ['node -e 0', `${runtime.bin} -e 0`, `env CNI_COMMAND=VERSION ${cniBin}`, `env CNI_COMMAND=VERSION ${sea}`, `env CNI_COMMAND=VERSION ${REF}/bridge`],
    STARTUP_ROUNDS,
  );
  const rss = { bare: peakRssOf([runtime.bin, '-e', '0'], baseEnv), seaVersion: peakRssOf([sea], { ...baseEnv, CNI_COMMAND: 'VERSION' }) };
  fs.rmSync(path.dirname(sea), { recursive: true });
  return { runtime: runtime.version, rounds: STARTUP_ROUNDS, node, bare, script, sea: seaV, ref, rss };
}

// ---------------------------------------------------------------- Windows script

const PWSH_RUNS = Number(args['pwsh-runs'] ?? (QUICK ? 3 : 7));

/** Wall time of one pwsh run of `file`, in ms. */
function pwshRun(file, env = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(PWSH, ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', file], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
  });
  const took = ms(process.hrtime.bigint() - started);
  if (r.status !== 0) throw new Error(`pwsh ${path.basename(file)} failed: ${r.stderr || r.stdout}`);
  return { took, stdout: r.stdout };
}

/**
 * The script's own cost per command: a one-step plan (no HNS call), so what
 * is timed is PowerShell's start, the script, and loading its native half,
 * precompiled or compiled. Runs alternate between the two installs.
 */
function windowsScript() {
  if (!fs.existsSync(PWSH)) return undefined;
  const dirs = ['precompiled', 'compiled'].map((k) => fs.mkdtempSync(path.join(os.tmpdir(), `weft-bench-${k}-`)));
  try {
    const shipped = path.join(root, 'src', 'os', 'windows', 'scripts');
    for (const d of dirs) for (const f of fs.readdirSync(shipped)) fs.copyFileSync(path.join(shipped, f), path.join(d, f));
    const compile = pwshRun(path.join(dirs[0], 'weft-hns-compile.ps1')).took;
    const request = JSON.stringify({ plan: 'weft-hns/1', steps: [{ id: 't', op: 'test', cond: { kind: 'eq', args: [1, 1] } }] });
    const times = { precompiled: [], compiled: [] };
    for (let i = 0; i < PWSH_RUNS; i++) {
      for (const [k, d] of [['precompiled', dirs[0]], ['compiled', dirs[1]]]) {
        const { took, stdout } = pwshRun(path.join(d, 'weft-hns.ps1'), { WEFT_HNS_REQUEST: request });
        const native = JSON.parse(stdout.trim().split('\n').pop()).native;
        if (native !== k) throw new Error(`expected the ${k} path, the script took ${native}`);
        times[k].push(took);
      }
    }
    const bare = [];
    for (let i = 0; i < PWSH_RUNS; i++) {
      const started = process.hrtime.bigint();
      spawnSync(PWSH, ['-NoProfile', '-NonInteractive', '-Command', '1'], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
      bare.push(ms(process.hrtime.bigint() - started));
    }
    const version = spawnSync(PWSH, ['-NoProfile', '-Command', '$PSVersionTable.PSVersion.ToString()'], { encoding: 'utf8' }).stdout.trim();
    return { version, runs: PWSH_RUNS, compile, precompiled: median(times.precompiled), compiled: median(times.compiled), bare: median(bare) };
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- output

function svgChart(points) {
  const W = 560;
  const H = 320;
  const pad = { l: 60, r: 20, t: 30, b: 50 };
  const xs = points.map((p) => p.leases);
  const ys = points.flatMap((p) => [p.weft, p.ref]);
  const xOf = (i) => pad.l + (i * (W - pad.l - pad.r)) / Math.max(1, xs.length - 1);
  const yMin = Math.log10(Math.min(...ys) / 1.5);
  const yMax = Math.log10(Math.max(...ys) * 1.5);
  const yOf = (v) => pad.t + ((yMax - Math.log10(v)) * (H - pad.t - pad.b)) / (yMax - yMin);
  const line = (k, color) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p, i) => `${xOf(i).toFixed(1)},${yOf(p[k]).toFixed(1)}`).join(' ')}"/>` +
    points.map((p, i) => `<circle cx="${xOf(i).toFixed(1)}" cy="${yOf(p[k]).toFixed(1)}" r="3" fill="${color}"/><text x="${(xOf(i) + 5).toFixed(1)}" y="${(yOf(p[k]) - 6).toFixed(1)}" font-size="10" fill="${color}">${p[k].toFixed(0)}</text>`).join('');
  const ticks = [];
  for (let e = Math.ceil(yMin); e <= Math.floor(yMax); e++) {
    const y = yOf(10 ** e);
    ticks.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${pad.l - 6}" y="${y + 3}" font-size="10" text-anchor="end">${10 ** e} ms</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="18" font-size="13" text-anchor="middle">ADD+DEL cycle (median) against leases in the node's /16</text>
${ticks.join('\n')}
${xs.map((x, i) => `<text x="${xOf(i)}" y="${H - pad.b + 16}" font-size="10" text-anchor="middle">${x.toLocaleString('en')}</text>`).join('')}
<text x="${W / 2}" y="${H - 12}" font-size="11" text-anchor="middle">leases</text>
${line('ref', '#c0392b')}
${line('weft', '#2471a3')}
<text x="${W - pad.r - 120}" y="${pad.t + 10}" font-size="11" fill="#2471a3">weft (flannel chain)</text>
<text x="${W - pad.r - 120}" y="${pad.t + 24}" font-size="11" fill="#c0392b">reference (bridge chain)</text>
</svg>
`;
}

const f1 = (x) => (x === undefined ? 'n/a' : x.toFixed(1));
const f2 = (x) => (x === undefined ? 'n/a' : x.toFixed(2));
const sign = (x) => `${x >= 0 ? '+' : ''}${f1(x)}`;

function windowsRows(w, row) {
  if (!w) return row('weft-hns.ps1 per command under pwsh', 'n/a (no pwsh: node scripts/test-deps.mjs installs it)', '', '', '');
  row(`weft-hns.ps1 per command, pwsh ${w.version}, precompiled assembly (median of ${w.runs})`, `${f1(w.precompiled)} ms`, '', '', `bare pwsh ${f1(w.bare)} ms`);
  row(`weft-hns.ps1 per command, pwsh ${w.version}, Add-Type compiling weft-hns.cs (median of ${w.runs})`, `${f1(w.compiled)} ms`, '', f2(w.compiled / w.precompiled), '');
  row('weft-hns-compile.ps1 at install (once)', `${f1(w.compile)} ms`, '', '', '');
}

function windowsReport(w) {
  const lines = [];
  const row = (...c) => lines.push(`| ${c.join(' | ')} |`);
  lines.push(`weft benchmark (Windows script only), ${new Date().toISOString()}, ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`, '');
  row('measure', 'weft', 'reference', 'compiled/precompiled', 'goal');
  row('---', '---', '---', '---', '---');
  windowsRows(w, row);
  return lines.join('\n');
}

/** The goals of issue 16, each a ratio of figures this run measured side by side; met is undefined when this run could not say. */
function goals(r) {
  const lib = r.chain['Go libcni'] ?? r.chain.cnitool;
  const s = r.startup;
  const overhead = (lib.weft.cycle - 2 * s.sea.wall) / lib.ref.cycle;
  const full = r.hostLocalAtGoal;
  const p = r.parallel;
  const allOk = p.weft.failures === 0 && p.weft.uniqueIps === PARALLEL;
  const pRatio = p.weft.wall / p.ref.wall;
  return [
    {
      goal: `cycle overhead above the floor: (weft cycle - 2 x weft VERSION) / reference cycle, via ${r.chain['Go libcni'] ? 'Go libcni' : 'cnitool'}`,
      value: `(${f1(lib.weft.cycle)} - 2 x ${f1(s.sea.wall)}) / ${f1(lib.ref.cycle)} = ${f2(overhead)}`,
      target: '<= 1.1',
      met: overhead <= 1.1,
    },
    {
      goal: `standalone VERSION exec - bare runtime (node ${s.runtime} -e 0), wall (CPU)`,
      value: `${f1(s.sea.wall)} - ${f1(s.bare.wall)} = ${f1(s.sea.wall - s.bare.wall)} ms (CPU ${f1(s.sea.cpu)} - ${f1(s.bare.cpu)} = ${f1(s.sea.cpu - s.bare.cpu)} ms)`,
      target: '<= 3 ms',
      met: s.sea.wall - s.bare.wall <= 3,
    },
    {
      goal: `64 ADDs at once: all succeed, distinct addresses, wall / reference wall${PARALLEL === 64 ? '' : ` (this run: ${PARALLEL})`}`,
      value: `${p.weft.ok} ok, ${p.weft.uniqueIps} distinct; ${f1(p.weft.wall)} / ${f1(p.ref.wall)} = ${f2(pRatio)}`,
      target: 'all; <= 2.5',
      met: PARALLEL === 64 ? allOk && pRatio <= 2.5 : undefined,
    },
    {
      goal: 'peak RSS of a flannel ADD',
      value: `${f1(r.rss.weft.add)} MiB (the bare runtime, node ${s.runtime} -e 0: ${f1(s.rss.bare)} MiB; weft VERSION: ${f1(s.rss.seaVersion)} MiB)`,
      target: '<= 40 MiB',
      met: r.rss.weft.add <= 40,
    },
    full
      ? {
          goal: `host-local ADD+DEL at ${GOAL_LEASES.toLocaleString('en')} leases / reference (median of ${full.n})`,
          value: `${f1(full.weft)} / ${f1(full.ref)} = ${f2(full.weft / full.ref)}`,
          target: '<= 0.1',
          met: full.weft / full.ref <= 0.1,
        }
      : {
          goal: `host-local ADD+DEL at ${GOAL_LEASES.toLocaleString('en')} leases / reference`,
          value: `not measured (this run's lease counts: ${SCALES.join(', ')})`,
          target: '<= 0.1',
          met: undefined,
        },
  ];
}

/** Median ms of one named step over profiled runs. */
const stepMs = (runs, name) => median(runs.map((run) => run.doc.steps.filter((x) => x[0] === name).reduce((a, x) => a + x[2] - x[1], 0)));

/**
 * The issue's table (measured 2026-12-01 on this machine, quiet) beside this
 * run's figures, and what makes them differ where they can.
 */
function issueComparison(r, row) {
  const lib = r.chain['Go libcni'];
  const s = r.startup;
  const p = r.parallel;
  row('figure', "issue's table: weft / reference", 'this run: weft / reference');
  row('---', '---', '---');
  row('ADD+DEL cycle, Go libcni, median', '186-191 / 47-52 ms (3.7-3.9)', lib ? `${f1(lib.weft.cycle)} / ${f1(lib.ref.cycle)} ms (${f2(lib.ratio)})` : 'n/a (no Go libcni client)');
  row('VERSION exec', '36.8-38.5 / 3.4 ms', `${f1(s.sea.wall)} / ${f1(s.ref.wall)} ms`);
  row('bare runtime start', `Node 24: 32.0 ms`, `Node ${s.runtime}: ${f1(s.bare.wall)} ms`);
  row('in-process flannel ADD / DEL (start of the verb to its end)', '42 / 43 ms', `${f1(stepMs(r.profile.ADD, 'flannel ADD'))} / ${f1(stepMs(r.profile.DEL, 'flannel DEL'))} ms`);
  row('64 ADDs at once, wall', '3.9-4.2 / 1.0-1.8 s', `${(p.weft.wall / 1000).toFixed(2)} / ${(p.ref.wall / 1000).toFixed(2)} s${PARALLEL === 64 ? '' : ` (${PARALLEL} pods)`}`);
  row('peak RSS of one flannel ADD / DEL', '53.8 / 52.9 MiB', `${f1(r.rss.weft.add)} / ${f1(r.rss.weft.del)} MiB`);
  const why = [];
  const loadNow = Math.max(...os.loadavg().slice(0, 1), Number(r.loadBefore.split(' ')[0]));
  if (loadNow > 1.5) why.push(`the load average reached ${loadNow.toFixed(1)} on ${os.cpus().length} cores (the issue's was near 0): wall times grow with it, ratios less`);
  if (QUICK) why.push('--quick: a few samples per figure');
  if (!lib) why.push('no Go libcni client: the cycle went through cnitool only');
  why.push(
    "the 2.26x that `npm run bench` printed before the issue drove both chains through weft's cnitool, itself a Node process on each side of the ratio; the goals use the Go libcni figures, as a runtime calls plugins",
    'VERSION and bare starts are medians of interleaved hyperfine rounds (the issue quoted hyperfine means); CPU time beside them is less sensitive to load',
  );
  return why;
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

function report(r) {
  const lines = [];
  const row = (...c) => lines.push(`| ${c.join(' | ')} |`);
  lines.push(`weft benchmark, ${new Date().toISOString()}, ${os.cpus().length} cores, load average at the start ${r.loadBefore}, at the end ${load()}`);
  lines.push('');
  row('measure', 'weft', 'reference', 'weft/ref', 'goal');
  row('---', '---', '---', '---', '---');
  for (const [label, p] of Object.entries(r.chain)) {
    row(`ADD+DEL cycle via ${label} (median of ${p.n} interleaved pairs)`, `${f1(p.weft.cycle)} ms (ADD ${f1(p.weft.add)}, DEL ${f1(p.weft.del)})`, `${f1(p.ref.cycle)} ms (ADD ${f1(p.ref.add)}, DEL ${f1(p.ref.del)})`, `${f2(p.ratio)} (pairs: ${f2(p.medianPairRatio)})`, '');
  }
  for (const s of r.scale) row(`cycle at ${s.leases.toLocaleString('en')} leases (median of ${s.n})`, `${f1(s.weft)} ms`, `${f1(s.ref)} ms`, f2(s.weft / s.ref), '');
  const p = r.parallel;
  row(`${PARALLEL} pods ADDed at once: wall`, `${f1(p.weft.wall)} ms`, `${f1(p.ref.wall)} ms`, f2(p.weft.wall / p.ref.wall), '');
  row(`${PARALLEL} pods: succeeded / distinct IPs / failures`, `${p.weft.ok} / ${p.weft.uniqueIps} / ${p.weft.failures}`, `${p.ref.ok} / ${p.ref.uniqueIps} / ${p.ref.failures}`, '', '');
  row('processes spawned per ADD (cnitool excluded)', `${r.spawns.weft.count}: ${r.spawns.weft.programs.join(' ')}`, `${r.spawns.ref.count}: ${r.spawns.ref.programs.join(' ')}`, '', '');
  row('peak RSS, first plugin of the chain, ADD / DEL', `${f1(r.rss.weft.add)} / ${f1(r.rss.weft.del)} MiB (whole chain)`, `${f1(r.rss.ref.add)} / ${f1(r.rss.ref.del)} MiB (bridge; host-local is another process)`, '', '');
  const s = r.startup;
  row(`start-up: VERSION exec, wall (CPU); median of ${s.rounds} interleaved rounds`, `SEA ${f1(s.sea.wall)} (${f1(s.sea.cpu)}) ms, node script ${f1(s.script.wall)} (${f1(s.script.cpu)}) ms`, `${f1(s.ref.wall)} (${f1(s.ref.cpu)}) ms`, '', '');
  row('start-up: bare runtime, node -e 0, wall (CPU)', `node ${s.runtime} (embedded) ${f1(s.bare.wall)} (${f1(s.bare.cpu)}) ms; node ${process.versions.node} (runs the script) ${f1(s.node.wall)} (${f1(s.node.cpu)}) ms`, '', '', '');
  row('start-up overhead over the bare runtime it runs on, wall (CPU)', `SEA ${sign(s.sea.wall - s.bare.wall)} (${sign(s.sea.cpu - s.bare.cpu)}) ms; script ${sign(s.script.wall - s.node.wall)} (${sign(s.script.cpu - s.node.cpu)}) ms`, '', '', '');
  row('peak RSS: bare runtime node -e 0 / weft VERSION', `${f1(s.rss.bare)} / ${f1(s.rss.seaVersion)} MiB`, '', '', '');
  windowsRows(r.windows, row);
  lines.push('', 'Goals (issue 16), from the figures above:', '');
  row('goal', 'measured', 'target', 'met');
  row('---', '---', '---', '---');
  for (const g of goals(r)) row(g.goal, g.value, g.target, g.met === undefined ? 'n/a' : g.met ? 'yes' : 'NO');
  lines.push('', "This run against the issue's table:", '');
  const why = issueComparison(r, row);
  lines.push('', 'Why the figures may differ:', ...why.map((w) => `- ${w}`));
  lines.push('', `Profile of one flannel ADD and DEL (the chain in one process; kube-flannel's conflist; the standalone executable as installed):`, '');
  lines.push(profileTable('ADD', r.profile.ADD), '', profileTable('DEL', r.profile.DEL));
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  if (args.only === 'windows') {
    log('weft-hns.ps1 under pwsh');
    process.stdout.write(`${windowsReport(windowsScript())}\n`);
    return;
  }
  requirements();
  const seaExe = await buildWeft();
  fs.mkdirSync(outDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
  const results = { loadBefore: load(), chain: {}, scale: [] };
  try {
    const client = buildLibcniClient(work);
    const nodes = { weft: makeNode('weft', work, seaExe), ref: makeNode('ref', work, seaExe) };
    const pods = { weft: netns(`wb-pw-${crypto.randomBytes(2).toString('hex')}`), ref: netns(`wb-pr-${crypto.randomBytes(2).toString('hex')}`) };

    log(`chain cycles: ${PAIRS} interleaved pairs through cnitool`);
    results.chain.cnitool = pairs(nodes, pods, PAIRS, 'cnitool');
    if (client) {
      log(`chain cycles: ${PAIRS} interleaved pairs through the Go libcni client`);
      results.chain['Go libcni'] = pairs(nodes, pods, PAIRS, 'libcni', client);
    }

    for (const leases of SCALES) {
      log(`cycles at ${leases} leases`);
      for (const k of ['weft', 'ref']) prefill(nodes[k], leases);
      const p = pairs(nodes, pods, leases >= 10000 ? SCALE_PAIRS : PAIRS, client ? 'libcni' : 'cnitool', client);
      results.scale.push({ leases, weft: p.weft.cycle, ref: p.ref.cycle, n: p.n });
      if (leases === GOAL_LEASES) results.hostLocalAtGoal = hostLocalPairs(nodes, pods, PAIRS);
    }
    for (const k of ['weft', 'ref']) prefill(nodes[k], 0);

    log(`${PARALLEL} pods at once`);
    results.parallel = { weft: await parallelAdds(nodes.weft, PARALLEL), ref: await parallelAdds(nodes.ref, PARALLEL) };

    log('processes, memory, start-up');
    results.spawns = { weft: spawnsPerAdd(nodes.weft, pods.weft), ref: spawnsPerAdd(nodes.ref, pods.ref) };
    results.rss = { weft: peakRss(nodes.weft, pods.weft), ref: peakRss(nodes.ref, pods.ref) };
    results.startup = startup(seaExe);
    log('weft-hns.ps1 under pwsh');
    results.windows = windowsScript();
    log(`profile: ${PROFILE_RUNS} ADDs and DELs with WEFT_PROFILE`);
    results.profile = profileCommands(nodes.weft, pods.weft, PROFILE_RUNS);
  } finally {
    cleanupNamespaces();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const table = report(results);
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify({ date: new Date().toISOString(), ...results }, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'cycle-vs-leases.svg'), svgChart(results.scale));
  fs.writeFileSync(path.join(outDir, 'results.md'), `${table}\n`);
  process.stdout.write(`${table}\n\nwritten: dist/bench/results.json, results.md, cycle-vs-leases.svg\n`);
}

main().catch((e) => {
  cleanupNamespaces();
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 1;
});
