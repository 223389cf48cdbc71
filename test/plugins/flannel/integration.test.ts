import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Netns, createNetns, ipJson, runIn, shIn } from '../../helpers/netns.ts';
import { startOwned } from '../../helpers/run.ts';
import { containerIdFor } from '../../../src/cnitool/cli.ts';
import { type CnitoolCall, cnitool, makeNode, netDir } from './chain.ts';
import { cniPathDir } from './cni-path.ts';
import { SUBNET_DUAL, SUBNET_V4, SUBNET_V6 } from './helpers.ts';

// flannel with real delegates (see cni-path.ts for which), as root, in a host
// and a pod network namespace per test, driven by weft's cnitool as a
// container runtime would drive it.

interface Addr {
  ifname: string;
  mtu: number;
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}

const podAddresses = (pod: Netns, ifname = 'eth0') =>
  ipJson<Addr[]>(pod, 'addr', 'show', 'dev', ifname)[0]!.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);

const linkNames = (ns: Netns) => ipJson<{ ifname: string }[]>(ns, 'link', 'show').map((l) => l.ifname);

function world() {
  const host = createNetns('wfh');
  const pod = createNetns('wfp');
  const node = makeNode(host, pod);
  const cniPath = cniPathDir(['flannel', 'bridge', 'host-local', 'portmap', 'cnitool']);
  return { host, pod, node, cniPath };
}

const leasesOf = (dir: string) => {
  try {
    return fs.readdirSync(dir).filter((n) => /^[0-9a-f.:_]+$/.test(n) && /[.:_]/.test(n));
  } catch {
    return [];
  }
};

// Documentation/kube-flannel.yml, ConfigMap kube-flannel-cfg, key cni-conf.json.
const KUBE_FLANNEL_CONFLIST = `{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "flannel",
      "delegate": {
        "hairpinMode": true,
        "isDefaultGateway": true
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}`;

const KUBE_SUBNET_ENV = `FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
`;

const POD_ID = '3f0c4e8a9d2b41c7a6e5f0d1c2b3a4958677e6d5c4b3a2910';

/** Run cnitool on the node; fail the test with its stderr if it fails. */
async function ok(node: ReturnType<typeof makeNode>, verb: Parameters<typeof cnitool>[1], call: CnitoolCall): Promise<string> {
  const r = await cnitool(node, verb, call);
  expect(r.code, `cnitool ${verb}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A TCP server in the pod namespace; resolves once it listens. */
async function podServer(pod: Netns, port: number, reply: string) {
  const child = startOwned('ip', ['netns', 'exec', pod.name, process.execPath, '-e',
    `require('net').createServer((s) => s.end(${JSON.stringify(reply)})).listen(${port}, () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`pod server exited with ${code}`)));
  });
  return { stop: () => child.kill() };
}

const TCP_CLIENT = (host: string, port: number) =>
  `const s = require('net').connect(${port}, ${JSON.stringify(host)}); let d = ''; s.on('data', (b) => (d += b)); s.on('end', () => { console.log(d); process.exit(0); }); s.on('error', (e) => { console.error(e.message); process.exit(1); }); setTimeout(() => { console.error('timeout'); process.exit(2); }, 5000);`;

describe('flannel with real delegates in network namespaces', () => {
  it("runs kube-flannel's 10-flannel.conflist unchanged: flannel then portmap, DEL in reverse", async () => {
    const { host, pod, node, cniPath } = world();
    fs.writeFileSync(path.join(node.runFlannel, 'subnet.env'), KUBE_SUBNET_ENV);
    const call: CnitoolCall = {
      confDir: netDir('10-flannel.conflist', KUBE_FLANNEL_CONFLIST),
      cniPath,
      network: 'cbr0',
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=${POD_ID};K8S_POD_UID=4b1f`,
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    };
    const id = containerIdFor(node.podNetnsPath);

    const result = JSON.parse(await ok(node, 'add', call));
    expect(result.cniVersion).toBe('0.3.1');
    expect(result.ips).toEqual([{ version: '4', interface: 2, address: '10.244.1.2/24', gateway: '10.244.1.1' }]);
    // cnitool cached the result the way libcni does.
    const cached = JSON.parse(fs.readFileSync(path.join(node.varLibCni, 'results', `cbr0-${id}-eth0`), 'utf8'));
    expect(cached).toMatchObject({ kind: 'cniCacheV1', containerId: id, ifName: 'eth0', networkName: 'cbr0' });

    // What flannel saved and host-local leased, at kube-flannel's default paths.
    const saved = JSON.parse(fs.readFileSync(path.join(node.varLibCni, 'flannel', id), 'utf8'));
    expect(saved).toEqual({
      cniVersion: '0.3.1',
      hairpinMode: true,
      ipMasq: false,
      ipam: { ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }], type: 'host-local' },
      isDefaultGateway: true,
      isGateway: true,
      mtu: 1450,
      name: 'cbr0',
      type: 'bridge',
    });
    expect(leasesOf(path.join(node.varLibCni, 'networks', 'cbr0'))).toEqual(['10.244.1.2']);

    // The pod: address, MTU, default route through the bridge.
    expect(podAddresses(pod)).toEqual(['10.244.1.2/24']);
    expect(ipJson<Addr[]>(pod, 'link', 'show', 'eth0')[0]!.mtu).toBe(1450);
    const routes = ipJson<{ dst: string; gateway?: string }[]>(pod, 'route', 'show');
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.244.1.1' }));
    // The host: cni0 is the gateway, the pod's port is in hairpin mode.
    expect(ipJson<Addr[]>(host, 'addr', 'show', 'dev', 'cni0')[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain('10.244.1.1/24');
    expect(shIn(host, 'bridge -d link show master cni0')).toContain('hairpin on');

    expect(shIn(host, 'iptables -t nat -S')).toContain('--dport 8080 -j DNAT --to-destination 10.244.1.2:80');

    // Traffic: the pod answers directly and through the host port portmap set up.
    const server = await podServer(pod, 80, 'hello from the pod');
    try {
      const direct = await runIn(host, process.execPath, ['-e', TCP_CLIENT('10.244.1.2', 80)]);
      expect(direct).toMatchObject({ code: 0, stdout: 'hello from the pod\n' });
      const viaHostPort = await runIn(host, process.execPath, ['-e', TCP_CLIENT('10.244.1.1', 8080)]);
      expect(viaHostPort).toMatchObject({ code: 0, stdout: 'hello from the pod\n' });
    } finally {
      server.stop();
    }

    await ok(node, 'del', call);
    expect(leasesOf(path.join(node.varLibCni, 'networks', 'cbr0'))).toEqual([]);
    expect(fs.existsSync(path.join(node.varLibCni, 'flannel', id))).toBe(false);
    expect(fs.existsSync(path.join(node.varLibCni, 'results', `cbr0-${id}-eth0`))).toBe(false);
    expect(linkNames(pod)).toEqual(['lo']);
    expect(shIn(host, 'iptables -t nat -S')).not.toContain('--dport 8080');
    // A second DEL of the whole list (runtimes retry) succeeds.
    await ok(node, 'del', call);
  });

  // Reference cases 1-4 with real bridge and host-local.
  for (const [stack, subnetEnv, want] of [
    ['IPv4', SUBNET_V4, ['10.1.17.2/24']],
    ['IPv6-only', SUBNET_V6, ['fc00::2/64']],
    ['dual-stack', SUBNET_DUAL, ['10.1.17.2/24', 'fc00::2/64']],
  ] as const) {
    it(`gives the pod its ${stack} addresses and takes everything back on DEL`, async () => {
      const { pod, node, cniPath } = world();
      const subnetFile = path.join(node.dir, 'subnet.env');
      const dataDir = path.join(node.dir, 'flannel-data');
      fs.writeFileSync(subnetFile, subnetEnv);
      const conf = { cniVersion: '1.0.0', name: 'cni-flannel', type: 'flannel', subnetFile, dataDir };
      const call: CnitoolCall = { confDir: netDir('10-flannel.conf', JSON.stringify(conf)), cniPath, network: 'cni-flannel' };
      const id = containerIdFor(node.podNetnsPath);

      const out = JSON.parse(await ok(node, 'add', call));
      expect(out.ips.map((i: { address: string }) => i.address)).toEqual(want);
      expect(podAddresses(pod).sort()).toEqual([...want].sort());
      const leaseDir = path.join(node.varLibCni, 'networks', 'cni-flannel');
      expect(leasesOf(leaseDir)).toHaveLength(want.length);
      expect(fs.existsSync(path.join(dataDir, id))).toBe(true);
      await ok(node, 'check', call);

      await ok(node, 'del', call);
      expect(fs.existsSync(path.join(dataDir, id))).toBe(false);
      expect(leasesOf(leaseDir)).toEqual([]);
      expect(linkNames(pod)).toEqual(['lo']);
      await ok(node, 'del', call);
    });
  }

  it('tears a pod down with a rebuilt config when its saved one is zero-length', async () => {
    const { pod, node, cniPath } = world();
    const subnetFile = path.join(node.dir, 'subnet.env');
    const dataDir = path.join(node.dir, 'flannel-data');
    fs.writeFileSync(subnetFile, SUBNET_V4);
    const conf = { cniVersion: '1.0.0', name: 'cni-flannel', type: 'flannel', subnetFile, dataDir };
    const call: CnitoolCall = { confDir: netDir('10-flannel.conf', JSON.stringify(conf)), cniPath, network: 'cni-flannel' };
    const id = containerIdFor(node.podNetnsPath);
    await ok(node, 'add', call);
    fs.writeFileSync(path.join(dataDir, id), '');

    await ok(node, 'del', call);
    expect(leasesOf(path.join(node.varLibCni, 'networks', 'cni-flannel'))).toEqual([]);
    expect(linkNames(pod)).toEqual(['lo']);
    expect(fs.existsSync(path.join(dataDir, id))).toBe(false);
  });
});
