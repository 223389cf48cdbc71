// npm run demo: weft's main job on an embedded default. Two pods get their
// network from kube-flannel's configuration through weft's cnitool, flannel,
// bridge and host-local, reach each other, and are torn down again. Everything
// happens in network namespaces the demo creates (a "node" namespace holds the
// bridge), and everything is removed at the end, also when a step fails.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cniBin = path.join(root, 'dist', 'cni-bin');

// What flanneld would have written on this node.
const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

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

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...opts });
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function main() {
  if (process.getuid?.() !== 0) {
    say('The demo needs root: it creates network namespaces, a bridge and veth pairs (run it with sudo, or as root in a VM or container).');
    return 1;
  }
  for (const tool of ['ip', 'nsenter']) {
    if (!has(tool)) {
      say(`The demo needs the "${tool}" command (Debian: apt-get install -y iproute2 util-linux).`);
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
    spawnSync('ip', ['netns', 'exec', names.node, path.join(cniBin, 'cnitool'), verb, 'cbr0', `/var/run/netns/${pod}`], {
      env,
      encoding: 'utf8',
    });
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
      sh('ip', ['netns', 'add', ns]);
      created.push(ns);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      say(`created ${ns}`);
    }

    step('cnitool add, as a container runtime would');
    const ips = [];
    for (const pod of names.pods) {
      const r = cnitool('add', pod);
      if (r.status !== 0) throw new Error(`cnitool add ${pod} failed: ${r.stderr.trim()}`);
      added.push(pod);
      const result = JSON.parse(r.stdout);
      const ip = result.ips[0].address;
      ips.push(ip.split('/')[0]);
      say(`${pod}: ${ip} via ${result.ips[0].gateway} on ${result.interfaces.map((i) => i.name).join(', ')}`);
    }

    step(`reachability: ${names.pods[0]} -> ${ips[1]}`);
    if (has('ping')) {
      say(sh('ip', ['netns', 'exec', names.pods[0], 'ping', '-c', '3', '-W', '2', ips[1]]).trim());
    } else {
      // No ping on this machine: a TCP round trip between the pods instead.
      const server = `require('net').createServer(s=>s.end('pong')).listen(7777,'${ips[1]}',()=>process.stdout.write('ready\\n'))`;
      const srv = execFileSync('sh', ['-c', `ip netns exec ${names.pods[1]} node -e "${server}" & sleep 1; ip netns exec ${names.pods[0]} node -e "require('net').connect(7777,'${ips[1]}').on('data',d=>{console.log('reply: '+d);process.exit(0)})"; kill %1`], { encoding: 'utf8' });
      say(`ping is not installed; TCP instead: ${srv.trim()}`);
    }

    step('leases (host-local store, the reference format)');
    const leaseDir = path.join(work, 'lib', 'networks', 'cbr0');
    for (const f of fs.readdirSync(leaseDir).sort()) {
      say(`${f}: ${JSON.stringify(fs.readFileSync(path.join(leaseDir, f), 'utf8'))}`);
    }

    say('\n(kube-flannel\'s conflist is cniVersion 0.3.1, which has no CHECK; the tests run CHECK on 0.4.0+ configs.)');
  } catch (e) {
    say(`\nFAILED: ${e.message}`);
    status = 1;
  } finally {
    step('cleanup');
    for (const pod of added.reverse()) {
      const r = cnitool('del', pod);
      say(r.status === 0 ? `cnitool del ${pod}: ok` : `cnitool del ${pod} failed: ${r.stderr.trim()}`);
      if (r.status !== 0) status = 1;
    }
    const leaseDir = path.join(work, 'lib', 'networks', 'cbr0');
    const left = fs.existsSync(leaseDir) ? fs.readdirSync(leaseDir).filter((f) => /^[0-9a-f.:_]+$/.test(f)) : [];
    say(left.length === 0 ? 'no lease left' : `LEASES LEFT: ${left.join(' ')}`);
    if (left.length) status = 1;
    for (const ns of created) {
      spawnSync('ip', ['netns', 'del', ns]);
      say(`deleted ${ns}`);
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
  say(status === 0 ? '\ndemo finished: nothing left behind' : '\ndemo failed (see above); everything it created was removed');
  return status;
}

process.exitCode = main();
