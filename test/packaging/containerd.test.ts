import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/tmp.ts';
import { Containerd, NAMESPACE, Node } from './containerd.ts';
import { goProgram } from '../helpers/go-program.ts';
import { readImageArchive } from './image-archive.ts';

// weft in Debian's containerd, deployed the way kube-flannel.yml deploys
// it: the install image runs as the DaemonSet's init container (its args,
// mounts and securityContext taken from conf/kubernetes/kube-flannel.yml)
// into the node's CNI folders; then containers get their network from
// kube-flannel's conflist through `ctr run --cni` (containerd's go-cni in
// ctr), and are torn down through go-cni the way containerd's CRI does it
// (test/packaging/cri-net), since ctr 1.6 never calls DEL for them.

const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const INSTALL_IMAGE = path.join(repoRoot, 'dist', 'packages', `weft-${version}-install-image-linux-amd64.tar`);
const BOX = 'localhost/weft-test-box:1';
const MARKER = 'served by weft-test-box';
const SUBNET = '10.244.7';
const GATEWAY = `${SUBNET}.1`;
const NETWORK = 'cbr0';

let tmp: string;
let containerd: Containerd;
let node: Node;
let criNet: string;

interface K8sContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  securityContext?: { readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface K8sVolume {
  name: string;
  hostPath?: { path: string };
  configMap?: { name: string };
}

function manifest() {
  const docs = parseAllDocuments(fs.readFileSync(path.join(repoRoot, 'conf', 'kubernetes', 'kube-flannel.yml'), 'utf8')).map((d) => d.toJS());
  const ds = docs.find((d) => d.kind === 'DaemonSet');
  const cm = docs.find((d) => d.kind === 'ConfigMap');
  const spec = ds.spec.template.spec as { initContainers: K8sContainer[]; volumes: K8sVolume[] };
  return { spec, configMaps: { [cm.metadata.name as string]: cm.data as Record<string, string> } };
}

/** A busybox image (ping, httpd, wget, sleep) written with the package build's own OCI writer. */
async function buildBoxImage(dir: string): Promise<string> {
  // @ts-expect-error: a plain .mjs build script without type declarations
  const { layerFrom, writeImageArchive } = await import('../../scripts/lib/oci.mjs');
  const root = path.join(dir, 'box');
  for (const d of ['bin', 'www', 'proc', 'sys', 'dev', 'tmp', 'etc']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'ping', 'httpd', 'wget', 'sleep', 'ip', 'cat']) fs.symlinkSync('busybox', path.join(root, 'bin', applet));
  fs.writeFileSync(path.join(root, 'www', 'index.html'), `${MARKER}\n`);
  const layer = await layerFrom(root, ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'www'], 1_700_000_000);
  const out = path.join(dir, 'box.tar');
  await writeImageArchive(out, { name: BOX, platform: { architecture: 'amd64', os: 'linux' }, layers: [layer], epoch: 1_700_000_000, config: { Cmd: ['/bin/sleep', '3600'] } });
  return out;
}

/** The addresses host-local leased on the node, by container ID. */
function leases(): Map<string, string> {
  const dir = path.join(node.dirs.state, 'networks', NETWORK);
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir).filter((f) => f.startsWith(`${SUBNET}.`))) out.set(fs.readFileSync(path.join(dir, f), 'utf8').split('\r\n')[0]!, f);
  return out;
}

const fullId = (id: string) => `${NAMESPACE}-${id}`;
const veths = () => node.sh('ip -o link show type veth').trim().split('\n').filter(Boolean).length;
const natRules = () => node.sh('iptables-save -t nat; nft list ruleset 2>/dev/null || true');
const savedConfigs = () => (fs.existsSync(path.join(node.dirs.state, 'flannel')) ? fs.readdirSync(path.join(node.dirs.state, 'flannel')) : []);

/** `ctr run -d --cni`, on the node, as a runtime starting a container. */
async function runWithCni(id: string, args: string[]): Promise<void> {
  const r = await node.run('ctr', ['-a', containerd.socket, '-n', NAMESPACE, 'run', '-d', '--cni', '--snapshotter', 'native', BOX, id, ...args]);
  expect(r.code, `ctr run --cni ${id}: ${r.stdout}${r.stderr}`).toBe(0);
}

/** go-cni Setup/Remove as containerd's CRI calls them. */
async function cri(verb: 'setup' | 'remove', id: string, pid: number, extra: string[] = []): Promise<string> {
  const r = await node.run(criNet, [verb, '-id', id, '-netns', `/proc/${pid}/ns/net`, '-pod', `default/${id}`, ...extra]);
  expect(r.code, `cri-net ${verb} ${id}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const exec = (id: string, args: string[]) => containerd.ctr(['task', 'exec', '--exec-id', `x${Math.random().toString(36).slice(2, 10)}`, id, ...args], { timeoutMs: 20_000 });

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-containerd-'));
  criNet = goProgram(path.join(import.meta.dirname, 'cri-net'), 'golang-github-containerd-go-cni-dev');
  containerd = new Containerd(tmp);
  await containerd.start();
  node = new Node(path.join(tmp, 'node'));
  node.setUp();
  // What a kubeadm node has before flannel: the reference plugins (kubernetes-cni), no conflist.
  for (const p of ['bridge', 'host-local', 'loopback', 'portmap']) fs.copyFileSync(`/usr/lib/cni/${p}`, path.join(node.dirs.bin, p));
  fs.writeFileSync(path.join(node.dirs.flannel, 'subnet.env'), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${GATEWAY}/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
  await containerd.ctrOk(['images', 'import', '--snapshotter', 'native', INSTALL_IMAGE]);
  await containerd.ctrOk(['images', 'import', '--snapshotter', 'native', await buildBoxImage(tmp)]);
});

afterAll(async () => {
  if (containerd) {
    await containerd.removeAll();
    containerd.stop();
  }
  node?.tearDown();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('weft in containerd', () => {
  it('installs from its image as the manifest\'s init container: every name, the code cache, the ConfigMap\'s conflist', async () => {
    const { spec, configMaps } = manifest();
    const init = spec.initContainers.find((c) => c.name === 'install-weft')!;
    expect(init.image).toBe(`localhost/weft-install:${version}`);
    // The node's folders stand in for the hostPath volumes, a temp dir for the ConfigMap.
    const hostPaths: Record<string, string> = { '/opt/cni/bin': node.dirs.bin, '/etc/cni/net.d': node.dirs.conf };
    const mounts = init.volumeMounts.map((m) => {
      const vol = spec.volumes.find((v) => v.name === m.name)!;
      if (vol.hostPath) return `type=bind,src=${hostPaths[vol.hostPath.path]},dst=${m.mountPath},options=rbind:rw`;
      const dir = path.join(tmp, `configmap-${vol.configMap!.name}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const [k, v] of Object.entries(configMaps[vol.configMap!.name]!)) fs.writeFileSync(path.join(dir, k), v);
      return `type=bind,src=${dir},dst=${m.mountPath},options=rbind:ro`;
    });
    // Kubernetes runs the image's entrypoint with the container's args when it has no command.
    const img = readImageArchive(INSTALL_IMAGE, fs.mkdtempSync(path.join(tmp, 'img-')));
    expect(init.command).toBeUndefined();
    const argv = [...img.config.config.Entrypoint, ...(init.args ?? [])];
    const flags = [
      ...(init.securityContext?.readOnlyRootFilesystem ? ['--read-only'] : []),
      ...(init.securityContext?.capabilities?.drop ?? []).map((c) => `--cap-drop=CAP_${c}`),
      ...mounts.map((m) => `--mount=${m}`),
    ];
    const r = await containerd.ctr(['run', '--rm', '--snapshotter', 'native', ...flags, init.image, 'install-weft', ...argv]);
    expect(r.code, r.stdout + r.stderr).toBe(0);

    const bin = (f: string) => path.join(node.dirs.bin, f);
    expect(new Set(['bridge', 'cnitool', 'flannel', 'host-local'].map((n) => fs.statSync(bin(n)).ino)).size).toBe(1);
    expect(fs.statSync(bin('flannel')).size).toBeGreaterThan(50_000_000);
    expect(fs.readFileSync(bin('bridge.distrib')).equals(fs.readFileSync('/usr/lib/cni/bridge'))).toBe(true);
    expect(fs.readFileSync(bin('host-local.distrib')).equals(fs.readFileSync('/usr/lib/cni/host-local'))).toBe(true);
    expect(fs.readdirSync(node.dirs.bin).filter((f) => f.endsWith('.codecache'))).toHaveLength(1);
    expect(fs.readFileSync(path.join(node.dirs.conf, '10-flannel.conflist'), 'utf8')).toBe(configMaps['kube-flannel-cfg']!['cni-conf.json']);
  });

  it('gives containers started with ctr run --cni addresses that reach each other, the gateway and HTTP', async () => {
    await runWithCni('c1', ['/bin/httpd', '-f', '-p', '80', '-h', '/www']);
    await runWithCni('c2', ['/bin/sleep', '3600']);
    const ips = leases();
    const [ip1, ip2] = [ips.get(fullId('c1')), ips.get(fullId('c2'))];
    expect(ip1).toMatch(new RegExp(`^${SUBNET.replace(/\./g, '\\.')}\\.\\d+$`));
    expect(ip2).toMatch(new RegExp(`^${SUBNET.replace(/\./g, '\\.')}\\.\\d+$`));
    expect(ip1).not.toBe(ip2);
    const addr = await exec('c1', ['/bin/ip', '-4', '-o', 'addr', 'show', 'eth0']);
    expect(addr.stdout).toContain(`${ip1}/24`);
    for (const target of [ip1!, GATEWAY]) {
      const ping = await exec('c2', ['/bin/ping', '-c', '1', '-W', '3', target]);
      expect(ping.code, `ping ${target}: ${ping.stdout}${ping.stderr}`).toBe(0);
    }
    const http = await exec('c2', ['/bin/wget', '-q', '-O', '-', `http://${ip1}/`]);
    expect(http.stdout.trim(), http.stderr).toBe(MARKER);
  });

  it('serves HTTP through a portmap mapping set up as the CRI does, and DEL takes the mapping away', async () => {
    await containerd.ctrOk(['run', '-d', '--snapshotter', 'native', BOX, 'c3', '/bin/httpd', '-f', '-p', '80', '-h', '/www']);
    const pid = await containerd.pid('c3');
    const result = JSON.parse(await cri('setup', fullId('c3'), pid, ['-port', '8080:80'])) as Record<string, string[]>;
    const ip = leases().get(fullId('c3'));
    expect(result.eth0).toEqual([ip]);
    expect(result.lo).toEqual(['127.0.0.1', '::1']);
    const via = await node.run('busybox', ['wget', '-q', '-O', '-', `http://${GATEWAY}:8080/`], { timeoutMs: 10_000 });
    expect(via.stdout.trim(), via.stderr).toBe(MARKER);
    expect(natRules()).toContain(fullId('c3'));

    await cri('remove', fullId('c3'), pid, ['-port', '8080:80']);
    expect(natRules()).not.toContain(fullId('c3'));
    expect(leases().has(fullId('c3'))).toBe(false);
    expect((await node.run('busybox', ['wget', '-q', '-O', '-', `http://${GATEWAY}:8080/`], { timeoutMs: 3_000 })).code).not.toBe(0);
    await containerd.ctrOk(['task', 'rm', '-f', 'c3']);
  });

  it('tears down through go-cni as the CRI does: no lease, saved config, veth or NAT rule left', async () => {
    const ids = ['c1', 'c2'];
    expect(savedConfigs().sort()).toEqual(ids.map(fullId).sort());
    expect(veths()).toBe(2);
    for (const id of ids) expect(natRules()).toContain(fullId(id));
    for (const id of ids) {
      await cri('remove', fullId(id), await containerd.pid(id));
      await containerd.ctrOk(['task', 'rm', '-f', id]);
    }
    expect(leases().size).toBe(0);
    expect(savedConfigs()).toEqual([]);
    expect(veths()).toBe(0);
    for (const id of ids) expect(natRules()).not.toContain(fullId(id));
  });

  it('starts ten containers at once with ten distinct addresses, and tears them all down', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    await Promise.all(ids.map((id) => runWithCni(id, ['/bin/sleep', '3600'])));
    const ips = leases();
    expect(ips.size).toBe(10);
    expect(new Set(ids.map((id) => ips.get(fullId(id)))).size).toBe(10);
    expect(veths()).toBe(10);
    const pids = await Promise.all(ids.map((id) => containerd.pid(id)));
    await Promise.all(ids.map((id, i) => cri('remove', fullId(id), pids[i]!)));
    expect(leases().size).toBe(0);
    expect(savedConfigs()).toEqual([]);
    expect(veths()).toBe(0);
    const rules = natRules();
    for (const id of ids) expect(rules).not.toContain(fullId(id));
    // The libcni cache go-cni keeps on the node is gone too.
    const results = path.join(node.dirs.state, 'results');
    expect(fs.existsSync(results) ? fs.readdirSync(results).filter((f) => f.includes(`${NAMESPACE}-p`)) : []).toEqual([]);
  });
});
