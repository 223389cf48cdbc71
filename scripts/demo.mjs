// npm run demo: weft's main job on an embedded default. Two pods get their
// network from kube-flannel's configuration through weft's cnitool, flannel,
// bridge and host-local, reach each other, and are torn down again. Everything
// happens in network namespaces the demo creates (a "node" namespace holds the
// bridge), and everything is removed at the end: when a step fails, when a
// step or the whole demo runs out of time, and on Ctrl-C.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cniBin = path.join(root, 'dist', 'cni-bin');

// What flanneld would have written on this node.
const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

// Bounds: one command, and the demo as a whole (cleanup has its own).
const STEP_MS = 20_000;
const DEMO_MS = 90_000;

/** kube-flannel's 10-flannel.conflist, pointed at the demo's own directories. */
function conflist(work, withPortmap) {
  const plugins = [
    {
      type: 'flannel',
      subnetFile: path.join(work, 'run', 'flannel', 'subnet.env'),
      dataDir: path.join(work, 'lib', 'flannel'),
      delegate: { hairpinMode: true, isDefaultGateway: true },
      ipam: { dataDir: path.join(work, 'lib', 'networks') },
    },
  ];
  if (withPortmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true } });
  return { name: 'cbr0', cniVersion: '0.3.1', plugins };
}

const say = (msg = '') => process.stdout.write(`${msg}\n`);
const step = (msg) => say(`\n== ${msg}`);

/** A command found on PATH as a regular executable file (the way exec would find it). */
function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const file = path.join(dir, cmd);
    try {
      if (fs.statSync(file).isFile()) {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

// Children still running, so that an interrupt or the deadline can end them.
const running = new Set();
let abortReason;

/** Ends whatever runs now; the steps then fail and cleanup runs. */
function abort(reason) {
  abortReason ??= reason;
  for (const child of running) child.kill('SIGKILL');
}

/** Start a command as a child this demo owns. */
function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  running.add(child);
  child.on('close', () => running.delete(child));
  return child;
}

/** Run a command to its end within `ms`; never rejects. */
function run(cmd, args, { env, ms = STEP_MS } = {}) {
  return new Promise((resolve) => {
    if (abortReason) return resolve({ status: null, stdout: '', stderr: abortReason });
    const child = start(cmd, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => {
      stderr += `\n${cmd} ${args.join(' ')}: no answer within ${ms / 1000} s`;
      child.kill('SIGKILL');
    }, ms);
    child.on('error', (e) => (stderr += e.message));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status: abortReason ? null : status, stdout, stderr: abortReason ?? stderr.trim() });
    });
  });
}

/** run(), failing the demo when the command does. */
async function must(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** No ping here: a TCP round trip from pod A to a server in pod B, which this demo starts and stops. */
async function tcpRoundTrip(tag, [from, to], ip) {
  // The marker in the script lets a reader (and the demo's test) find the server.
  const serve = `/*weft-demo-${tag}*/require('net').createServer(s=>s.end('pong')).listen(7777,'${ip}',()=>console.log('ready'))`;
  const server = start('ip', ['netns', 'exec', to, process.execPath, '-e', serve]);
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the TCP server in ${to} did not start within ${STEP_MS / 1000} s`)), STEP_MS);
      server.stdout.on('data', (b) => String(b).includes('ready') && (clearTimeout(timer), resolve()));
      server.on('close', () => (clearTimeout(timer), reject(new Error(`the TCP server in ${to} ended before it was ready`))));
    });
    const ask = `require('net').connect(7777,'${ip}').on('data',d=>{console.log('reply: '+d);process.exit(0)}).on('error',e=>{console.error(e.message);process.exit(1)})`;
    return (await must('ip', ['netns', 'exec', from, process.execPath, '-e', ask])).trim();
  } finally {
    // ip netns exec execs node, so this pid is the server itself.
    server.kill('SIGKILL');
  }
}

async function main() {
  if (process.getuid?.() !== 0) {
    say('The demo needs root: it creates network namespaces, a bridge and veth pairs (run it with sudo, or as root in a VM or container).');
    return 1;
  }
  for (const [tool, deb] of [['ip', 'iproute2'], ['nsenter', 'util-linux']]) {
    if (!which(tool)) {
      say(`The demo needs the "${tool}" command (Debian: apt-get install -y ${deb}).`);
      return 1;
    }
  }
  if (!fs.existsSync(path.join(cniBin, 'flannel'))) {
    say('dist/cni-bin is missing: run "npm run build" first (npm run demo does).');
    return 1;
  }

  const tag = crypto.randomBytes(3).toString('hex');
  const names = { node: `weft-demo-node-${tag}`, pods: [`weft-demo-a-${tag}`, `weft-demo-b-${tag}`] };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-demo-'));
  const created = [];
  const added = [];
  const portmap = fs.existsSync('/usr/lib/cni/portmap');
  const env = {
    PATH: process.env.PATH,
    NETCONFPATH: path.join(work, 'net.d'),
    CNI_PATH: portmap ? `${cniBin}:/usr/lib/cni` : cniBin,
    CNI_CACHE_DIR: path.join(work, 'cache'),
  };
  const cnitool = (verb, pod) =>
    run('ip', ['netns', 'exec', names.node, path.join(cniBin, 'cnitool'), verb, 'cbr0', `/var/run/netns/${pod}`], { env });

  const onSignal = (signal) => {
    say(`\n${signal}: stopping`);
    abort(`interrupted (${signal})`);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const deadline = setTimeout(() => abort(`the demo did not finish within ${DEMO_MS / 1000} s`), DEMO_MS);
  let status = 0;

  try {
    step('node: an embedded subnet.env and kube-flannel\'s conflist');
    fs.mkdirSync(path.join(work, 'run', 'flannel'), { recursive: true });
    fs.writeFileSync(path.join(work, 'run', 'flannel', 'subnet.env'), SUBNET_ENV);
    fs.mkdirSync(env.NETCONFPATH);
    fs.writeFileSync(path.join(env.NETCONFPATH, '10-flannel.conflist'), `${JSON.stringify(conflist(work, portmap), null, 2)}\n`);
    say(SUBNET_ENV.trim());
    say(`plugins: flannel -> bridge -> host-local (weft)${portmap ? ', then portmap (reference, /usr/lib/cni)' : ''}`);

    step('network namespaces: one for the node, one per pod');
    for (const ns of [names.node, ...names.pods]) {
      await must('ip', ['netns', 'add', ns]);
      created.push(ns);
      await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      say(`created ${ns}`);
    }

    step('cnitool add, as a container runtime would');
    const ips = [];
    for (const pod of names.pods) {
      // Like a runtime, DEL even a pod whose ADD failed or was cut short: it may hold a lease.
      added.push(pod);
      const r = await cnitool('add', pod);
      if (r.status !== 0) throw new Error(`cnitool add ${pod} failed: ${r.stderr || r.stdout}`);
      const result = JSON.parse(r.stdout);
      const ip = result.ips[0].address;
      ips.push(ip.split('/')[0]);
      say(`${pod}: ${ip} via ${result.ips[0].gateway} on ${result.interfaces.map((i) => i.name).join(', ')}`);
    }

    step(`reachability: ${names.pods[0]} -> ${ips[1]}`);
    if (which('ping')) {
      say((await must('ip', ['netns', 'exec', names.pods[0], 'ping', '-c', '3', '-W', '2', ips[1]])).trim());
    } else {
      say(`ping is not installed (Debian: apt-get install -y iputils-ping); a TCP round trip instead: ${await tcpRoundTrip(tag, names.pods, ips[1])}`);
    }

    step('leases (host-local store, the reference format)');
    const leaseDir = path.join(work, 'lib', 'networks', 'cbr0');
    for (const f of fs.readdirSync(leaseDir).sort()) {
      say(`${f}: ${JSON.stringify(fs.readFileSync(path.join(leaseDir, f), 'utf8'))}`);
    }

    say('\n(kube-flannel\'s conflist is cniVersion 0.3.1, which has no CHECK; the tests run CHECK on 0.4.0+ configs.)');
  } catch (e) {
    say(`\nFAILED: ${abortReason ?? e.message}`);
    status = 1;
  } finally {
    clearTimeout(deadline);
    // Cleanup is not interrupted: a second Ctrl-C waits for it (each command is bounded).
    abortReason = undefined;
    for (const s of signals) {
      process.off(s, onSignal);
      process.on(s, () => say(`${s}: still cleaning up`));
    }
    step('cleanup');
    for (const pod of added.reverse()) {
      const r = await cnitool('del', pod);
      say(r.status === 0 ? `cnitool del ${pod}: ok` : `cnitool del ${pod} failed: ${r.stderr || r.stdout}`);
      if (r.status !== 0) status = 1;
    }
    const leaseDir = path.join(work, 'lib', 'networks', 'cbr0');
    const left = fs.existsSync(leaseDir) ? fs.readdirSync(leaseDir).filter((f) => /^[0-9a-f.:_]+$/.test(f)) : [];
    say(left.length === 0 ? 'no lease left' : `LEASES LEFT: ${left.join(' ')}`);
    if (left.length) status = 1;
    for (const ns of created) {
      const r = await run('ip', ['netns', 'del', ns]);
      say(r.status === 0 ? `deleted ${ns}` : `could not delete ${ns}: ${r.stderr}`);
      if (r.status !== 0) status = 1;
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
  say(status === 0 ? '\ndemo finished: nothing left behind' : '\ndemo failed (see above); everything it created was removed');
  return status;
}

process.exitCode = await main();
// Nothing the demo started may keep it alive.
process.exit();
