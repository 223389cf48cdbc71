// Benchmark: weft bridge vs the reference bridge (/usr/lib/cni/bridge), both
// delegating to the same host-local, in throwaway network namespaces.
// Prints per-ADD and per-DEL wall times (median, p90) and CPU time (user+sys
// of the whole process tree, which a busy machine disturbs less), and the
// weft/reference ratios. The two plugins take turns, so load hits both alike.
//
//   sudo node scripts/bench-bridge.mjs [iterations] [config]
//   config: flannel (isDefaultGateway + hairpinMode, like flannel's delegate) | masq (isGateway + ipMasq)
//
// Needs root, dist/cni-bin (npm run build) and /usr/lib/cni/{bridge,host-local}.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const iterations = Number(process.argv[2] ?? 30);
const flavour = process.argv[3] ?? 'flannel';
const HOST_LOCAL = '/usr/lib/cni/host-local';

const env = { ...process.env };
// Node's start-up reads these certificates: ~80 ms that no runtime pays.
delete env.NODE_EXTRA_CA_CERTS;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
const nsNames = [];
const ns = (prefix) => {
  const name = `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  nsNames.push(name);
  return name;
};
const delNs = (name) => spawnSync('ip', ['netns', 'del', name]);

function binDir(name, bridge) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
  fs.symlinkSync(bridge, path.join(dir, 'bridge'));
  fs.symlinkSync(HOST_LOCAL, path.join(dir, 'host-local'));
  return dir;
}

const impls = [
  { name: 'weft', bin: binDir('weft', path.join(root, 'dist', 'cni-bin', 'weft.cjs')) },
  { name: 'reference', bin: binDir('reference', '/usr/lib/cni/bridge') },
];

function conf(dataDir) {
  const extra = flavour === 'masq' ? { isGateway: true, ipMasq: true } : { isDefaultGateway: true, hairpinMode: true };
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'bench',
    type: 'bridge',
    bridge: 'cni0',
    mtu: 1450,
    ...extra,
    ipam: { type: 'host-local', subnet: '10.42.0.0/16', dataDir },
  });
}

// bash's `time` gives the CPU time of the whole tree in milliseconds (GNU time only in 10 ms steps).
const TIMED = 'exec 3>&2; TIMEFORMAT="%3U %3S"; { time "$@" 2>&3; } 2>"$CPU_FILE"';

function timed(host, impl, command, id, pod, stdin) {
  const cpuFile = path.join(tmp, 'cpu');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', TIMED, 'bench', 'ip', 'netns', 'exec', host, path.join(impl.bin, 'bridge')], {
    input: stdin,
    env: {
      ...env,
      CPU_FILE: cpuFile,
      CNI_COMMAND: command,
      CNI_CONTAINERID: id,
      CNI_NETNS: pod ? `/var/run/netns/${pod}` : '',
      CNI_IFNAME: 'eth0',
      CNI_PATH: impl.bin,
    },
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${impl.name} ${command} failed: ${r.stdout}${r.stderr}`);
  const [user, sys] = fs.readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return { wall, cpu: (user + sys) * 1000 };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9) };
}

const results = {};
try {
  // A baseline: what `ip netns exec` itself costs per call, included in every figure below.
  const probeNs = ns('bb');
  const base = [];
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync('ip', ['netns', 'exec', probeNs, 'true']);
    base.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  results.baseline = stats(base);
  // weft's own floor: a VERSION call starts Node and the bundle and does nothing else.
  const startup = [];
  for (let i = 0; i < 10; i++) startup.push(timed(probeNs, impls[0], 'VERSION', 'v', '', '{}'));
  results.startup = { wall: stats(startup.map((x) => x.wall)), cpu: stats(startup.map((x) => x.cpu)) };

  const state = impls.map((impl) => {
    const host = ns('bh');
    const stdin = conf(path.join(tmp, `ipam-${impl.name}`));
    // One pod first, so the bridge and its gateway exist as on a busy node.
    timed(host, impl, 'ADD', 'warm', ns('bp'), stdin);
    return { impl, host, stdin, add: [], del: [] };
  });
  for (let i = 0; i < iterations; i++) {
    for (const st of i % 2 === 0 ? state : [...state].reverse()) {
      const pod = ns('bp');
      st.add.push(timed(st.host, st.impl, 'ADD', `c${i}`, pod, st.stdin));
      st.del.push(timed(st.host, st.impl, 'DEL', `c${i}`, pod, st.stdin));
      delNs(pod);
    }
  }
  for (const st of state) {
    results[st.impl.name] = {
      add: stats(st.add.map((x) => x.wall)),
      del: stats(st.del.map((x) => x.wall)),
      addCpu: stats(st.add.map((x) => x.cpu)),
      delCpu: stats(st.del.map((x) => x.cpu)),
    };
  }
} finally {
  for (const n of nsNames) delNs(n);
  fs.rmSync(tmp, { recursive: true, force: true });
}

const f = (x) => `${x.toFixed(1)} ms`;
console.log(`bridge benchmark: ${iterations} ADD+DEL cycles, config "${flavour}", host-local: ${HOST_LOCAL}`);
console.log(`  ip netns exec baseline (in every wall figure): median ${f(results.baseline.median)}`);
console.log(`  weft start-up alone (VERSION): wall median ${f(results.startup.wall.median)}, cpu ${f(results.startup.cpu.median)}`);
for (const name of ['weft', 'reference']) {
  const r = results[name];
  console.log(
    `  ${name.padEnd(9)} ADD wall median ${f(r.add.median)} p90 ${f(r.add.p90)}, cpu ${f(r.addCpu.median)} | ` +
      `DEL wall median ${f(r.del.median)} p90 ${f(r.del.p90)}, cpu ${f(r.delCpu.median)}`,
  );
}
const ratio = (a, b) => (a / b).toFixed(2);
const w = results.weft;
const ref = results.reference;
console.log(
  `  weft/reference (median): ADD wall ${ratio(w.add.median, ref.add.median)}x cpu ${ratio(w.addCpu.median, ref.addCpu.median)}x, ` +
    `DEL wall ${ratio(w.del.median, ref.del.median)}x cpu ${ratio(w.delCpu.median, ref.delCpu.median)}x`,
);
