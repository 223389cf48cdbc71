// npm run bench:ipam: ADD+DEL cycle times of weft's host-local against the
// reference plugin (/usr/lib/cni/host-local, Debian's containernetworking-
// plugins) at 0, 1k, 10k and 65k leases in a /16. Both use the same store
// format, so each store is prefilled by writing lease files directly. Each
// pair is measured in the same run, cycles interleaved, so machine noise hits
// both alike. Then lock figures: 64 ADDs at once, and an ADD behind a dead
// holder's lock. Usage: node scripts/bench-ipam.mjs [--sizes 0,1000] [--cycles N]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WEFT = path.join(root, 'dist', 'cni-bin', 'host-local');
const REFERENCE = '/usr/lib/cni/host-local';

const argValue = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const SIZES = argValue('--sizes', '0,1000,10000,65000').split(',').map(Number);
const CYCLES = Number(argValue('--cycles', '7'));

// Children start without the CA bundle hook, which adds ~80 ms to every Node start.
const childEnv = { ...process.env };
delete childEnv.NODE_EXTRA_CA_CERTS;

if (!fs.existsSync(WEFT)) {
  process.stderr.write(`${WEFT} is missing: run npm run build first\n`);
  process.exit(1);
}
const haveReference = fs.existsSync(REFERENCE);

const NETWORK = 'bench';
const conf = (dataDir) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: NETWORK,
    type: 'bridge',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.128.0.0/16' }]] },
  });

/** The n-th allocatable address of 10.128.0.0/16 (after the gateway .0.1). */
const nth = (n) => {
  const v = 2 + n;
  return `10.128.${v >> 8}.${v & 255}`;
};

/** A store as either plugin would leave it after `count` ADDs. */
function prefill(dataDir, count) {
  const dir = path.join(dataDir, NETWORK);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'lock'), '', { mode: 0o750 });
  for (let i = 0; i < count; i++) {
    const id = `prefill${String(i).padStart(6, '0')}${'0'.repeat(51)}`;
    fs.writeFileSync(path.join(dir, nth(i)), `${id}\r\neth0`, { mode: 0o600 });
  }
  if (count > 0) fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), nth(count - 1), { mode: 0o600 });
}

function invoke(bin, command, dataDir, containerId) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, [], {
    input: conf(dataDir),
    env: {
      ...childEnv,
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: '/var/run/netns/bench',
      CNI_IFNAME: 'eth0',
      CNI_PATH: path.dirname(bin),
    },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} ${command} failed: ${r.stdout}${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function cycle(bin, dataDir, n) {
  const id = `bench${String(n).padStart(8, '0')}`;
  return invoke(bin, 'ADD', dataDir, id) + invoke(bin, 'DEL', dataDir, id);
}

function invokeAsync(bin, command, dataDir, containerId) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], {
      env: { ...childEnv, CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/var/run/netns/bench', CNI_IFNAME: 'eth0', CNI_PATH: path.dirname(bin) },
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(conf(dataDir));
  });
}

/** `n` ADDs started at once: wall time, and whether all got distinct addresses. */
async function burst(bin, dataDir, n) {
  const t0 = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: n }, (_, i) => invokeAsync(bin, 'ADD', dataDir, `burst${i}`)));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const ips = runs.filter((r) => r.code === 0).map((r) => JSON.parse(r.out).ips?.[0]?.address ?? JSON.parse(r.out).ip4?.ip);
  return { ms, ok: ips.length, distinct: new Set(ips).size };
}

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-ipam-'));
const lockRows = [];
const rows = [];
const started = Date.now();
try {
  const nodeStart = [];
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { env: childEnv });
    nodeStart.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  process.stdout.write(`node -e 0: ${median(nodeStart).toFixed(1)} ms (median of 10)\n`);

  for (const size of SIZES) {
    const impls = [{ name: 'weft', bin: WEFT }];
    if (haveReference) impls.push({ name: 'reference', bin: REFERENCE });
    for (const impl of impls) {
      impl.dataDir = path.join(base, `${impl.name}-${size}`);
      prefill(impl.dataDir, size);
      // Unmeasured warm-up: weft builds its index from the store on first use.
      impl.firstCycle = cycle(impl.bin, impl.dataDir, 0);
      impl.times = [];
    }
    for (let c = 1; c <= CYCLES; c++) for (const impl of impls) impl.times.push(cycle(impl.bin, impl.dataDir, c));
    const [weft, reference] = impls;
    const row = { size, weft: median(weft.times), weftFirst: weft.firstCycle };
    if (reference) row.reference = median(reference.times);
    rows.push(row);
    for (const impl of impls) fs.rmSync(impl.dataDir, { recursive: true, force: true });
    process.stderr.write(`  ${size} leases done\n`);
  }

  for (const impl of [{ name: 'weft', bin: WEFT }, ...(haveReference ? [{ name: 'reference', bin: REFERENCE }] : [])]) {
    const dataDir = path.join(base, `burst-${impl.name}`);
    prefill(dataDir, 0);
    const b = await burst(impl.bin, dataDir, 64);
    lockRows.push(`64 ADDs at once, ${impl.name}: ${b.ok}/64 succeeded, ${b.distinct} distinct addresses, ${(b.ms / 1000).toFixed(2)} s wall`);
  }
  // A holder killed with the lock: its directory stays until it is stale (4 s).
  const deadDir = path.join(base, 'dead');
  prefill(deadDir, 0);
  fs.mkdirSync(path.join(deadDir, '.weft', NETWORK, 'lock'), { recursive: true });
  const waited = invoke(WEFT, 'ADD', deadDir, 'behind-dead-holder');
  lockRows.push(`ADD behind the lock of a holder killed just before: ${(waited / 1000).toFixed(2)} s`);
} finally {
  fs.rmSync(base, { recursive: true, force: true });
}

const pad = (s, n) => String(s).padStart(n);
process.stdout.write(`\nADD+DEL cycle, median of ${CYCLES} (ms); /16 range; weft first cycle includes its index build\n`);
process.stdout.write(`${pad('leases', 7)} ${pad('weft', 9)} ${pad('reference', 10)} ${pad('weft/ref', 9)} ${pad('weft 1st', 9)}\n`);
for (const r of rows) {
  const ref = r.reference === undefined ? '-' : r.reference.toFixed(1);
  const ratio = r.reference === undefined ? '-' : (r.weft / r.reference).toFixed(3);
  process.stdout.write(`${pad(r.size, 7)} ${pad(r.weft.toFixed(1), 9)} ${pad(ref, 10)} ${pad(ratio, 9)} ${pad(r.weftFirst.toFixed(1), 9)}\n`);
}
if (!haveReference) process.stdout.write(`(${REFERENCE} not installed: reference column empty)\n`);
process.stdout.write(`\nlock\n${lockRows.map((r) => `  ${r}\n`).join('')}`);
process.stdout.write(`total bench time ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
