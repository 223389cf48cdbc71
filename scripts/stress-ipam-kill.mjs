// npm run stress:ipam [rounds]: kill host-local processes inside their
// critical section, round after round, then check the store and count what
// the survivors had to do (break a dead holder's lock, repair the index from
// an intent, rebuild it). Uses dist/cni-bin (npm run build first).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEFT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cni-bin', 'host-local');
const ROUNDS = Number(process.argv[2] ?? 20);
const IDS = 40;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-stress-ipam-'));
const logFile = `${dataDir}.log`;
const netDir = path.join(dataDir, 'stress');
const stateDir = path.join(dataDir, '.weft', 'stress');
const conf = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'stress',
  ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.30.0.0/16' }], [{ subnet: 'fd00:30::/64' }]] },
});
const childEnv = { ...process.env, CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: path.dirname(WEFT), WEFT_LOG_FILE: logFile, WEFT_LOG_LEVEL: 'info' };
delete childEnv.NODE_EXTRA_CA_CERTS;
const envFor = (command, id) => ({ ...childEnv, CNI_COMMAND: command, CNI_CONTAINERID: id });

const bad = [];
function checkStore() {
  for (const name of fs.readdirSync(netDir)) {
    const content = fs.readFileSync(path.join(netDir, name), 'utf8');
    if (name === 'lock' || name.startsWith('last_reserved_ip.')) continue;
    if (!/^(k\d+|seed)\r\neth0$/.test(content)) bad.push(`${name}: ${JSON.stringify(content)}`);
  }
}

spawnSync(WEFT, [], { input: conf, env: envFor('ADD', 'seed') });
const live = new Set();
let killed = 0;
let n = 0;
const started = Date.now();
for (let round = 0; round < ROUNDS; round++) {
  // Kill everything a few milliseconds after the lock changes hands for the n-th time.
  const nth = 1 + Math.floor(Math.random() * 3);
  const delay = Math.random() * 15;
  let seen = 0;
  const watcher = fs.watch(stateDir, (_e, name) => {
    if (name === 'lock' && ++seen === nth * 2 - 1) setTimeout(() => live.forEach((c) => c.kill('SIGKILL')), delay);
  });
  await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      new Promise((resolve) => {
        const child = spawn(WEFT, [], { env: envFor(i % 3 === 2 ? 'DEL' : 'ADD', `k${n++ % IDS}`), stdio: ['pipe', 'ignore', 'ignore'] });
        live.add(child);
        child.stdin.end(conf);
        child.on('close', (_code, signal) => {
          live.delete(child);
          if (signal === 'SIGKILL') killed++;
          resolve();
        });
      }),
    ),
  );
  watcher.close();
  checkStore();
}
// Everything must be releasable through weft's own view of the store.
for (let i = 0; i < IDS; i++) spawnSync(WEFT, [], { input: conf, env: envFor('DEL', `k${i}`) });
spawnSync(WEFT, [], { input: conf, env: envFor('DEL', 'seed') });
const left = fs.readdirSync(netDir).filter((x) => x !== 'lock' && !x.startsWith('last_reserved_ip.'));
const log = fs.readFileSync(logFile, 'utf8').split('\n');
const count = (text) => log.filter((l) => l.includes(text)).length;
process.stdout.write(
  `${ROUNDS} rounds in ${((Date.now() - started) / 1000).toFixed(0)} s: ${killed} processes killed\n` +
    `  stale locks broken:            ${count('breaking a stale lock')}\n` +
    `  index repaired from an intent: ${count('index repaired')}\n` +
    `  index rebuilt from the store:  ${count('index rebuilt')}\n` +
    `  leases the index had missed:   ${count('index missed a lease')}\n` +
    `  malformed files seen:          ${bad.length}${bad.length ? ` (${bad.slice(0, 3).join('; ')})` : ''}\n` +
    `  leases left after DEL of all:  ${left.length}${left.length ? ` (${left.join(' ')})` : ''}\n`,
);
fs.rmSync(dataDir, { recursive: true, force: true });
fs.rmSync(logFile, { force: true });
process.exit(bad.length || left.length ? 1 : 0);
