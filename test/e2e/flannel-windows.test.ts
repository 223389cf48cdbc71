import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns.ts';
import { type RunResult, run } from '../helpers/run.ts';
import { cniBin, tempDir } from '../helpers/tmp.ts';
import { CYCLE_TIMEOUT_MS, fullCycle, hostGwNode, vxlanNode } from '../plugins/windows-common/harness.ts';

// flannel's Windows delegate flowing into weft's win-bridge / win-overlay in
// the same process (a win-* delegate gets flannel's Windows delegate config),
// each HNS command in real PowerShell running weft-hns.ps1 against the
// native HNS stand-in. As on Windows, the delegate's host-local uses its
// default data dir: the plugin runs in a private mount namespace whose
// /var/lib is a fresh tmpfs with the test's own directory bound on
// /var/lib/cni, so the machine's /var/lib/cni is never touched.

const PRIVATE_VAR_LIB = 'mount -t tmpfs weft-var-lib /var/lib && mkdir -p /var/lib/cni && mount --bind "$WEFT_TEST_VAR_LIB_CNI" /var/lib/cni && "$@"';

function flannel(command: string, conf: unknown, env: Record<string, string>): Promise<RunResult> {
  return run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', PRIVATE_VAR_LIB, 'sh', path.join(cniBin, 'flannel')], {
    env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_IFNAME: 'eth0', CNI_PATH: cniBin, WEFT_LOG_FILE: 'stderr', WEFT_LOG_LEVEL: 'debug', ...env },
    stdin: JSON.stringify(conf),
  });
}

function flannelNode(name: string, subnet: string, delegate: Record<string, unknown>) {
  const dir = tempDir('weft-flannel-win-');
  const varLibCni = path.join(dir, 'var-lib-cni');
  fs.mkdirSync(varLibCni);
  fs.writeFileSync(path.join(dir, 'subnet.env'), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${subnet}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n`);
  const conf = { name, cniVersion: '1.0.0', type: 'flannel', subnetFile: path.join(dir, 'subnet.env'), dataDir: path.join(dir, 'flannel'), delegate };
  const leased = () => {
    const networks = path.join(varLibCni, 'networks', name);
    return fs.existsSync(networks) ? fs.readdirSync(networks).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')) : [];
  };
  return { conf, varLibCni, leased };
}

describe.each([1, 2])("flannel's Windows delegate in process, apiVersion %i", (apiVersion) => {
  it('host-gw: flannel -> win-bridge -> host-local in one process through a whole pod life, leasing from .3', async () => {
    requireRoot();
    const node = hostGwNode();
    const f = flannelNode('cbr0', '10.244.1.1/24', { type: 'win-bridge', apiVersion });
    const outs: RunResult[] = [];
    const first = await fullCycle(node.hns, 'pod1_cbr0', f.leased, async (command, netns, prevResult) => {
      const out = await flannel(command, prevResult ? { ...f.conf, prevResult } : f.conf, {
        ...node.hns.env,
        CNI_CONTAINERID: 'pod1',
        CNI_NETNS: netns,
        WEFT_TEST_VAR_LIB_CNI: f.varLibCni,
      });
      outs.push(out);
      return out;
    });
    expect(first.ips).toEqual([{ address: '10.244.1.3/24', gateway: '10.244.1.2' }]);
    // Both delegations stayed in the flannel process.
    expect(outs[0]!.stderr).toMatch(/flannel\[(\d+)\] DEBUG delegate ADD in process .*"win-bridge"/);
    expect(outs[0]!.stderr).toMatch(/win-bridge\[\d+\] DEBUG delegate ADD in process .*"host-local"/);
    // ipMasqNetwork from FLANNEL_NETWORK became the OutBoundNAT exception.
    const requests = node.hns.calls().map((c) => c.request ?? '');
    expect(requests[0]).toContain(apiVersion === 2 ? '{\\"Type\\":\\"OutBoundNAT\\",\\"Settings\\":{\\"Exceptions\\":[\\"10.244.0.0/16\\"]}}' : '{\\"Type\\":\\"OutBoundNAT\\",\\"ExceptionList\\":[\\"10.244.0.0/16\\"]}');
  }, CYCLE_TIMEOUT_MS);

  it('vxlan: flannel -> win-overlay through a whole pod life, MAC from the address, network gateway .1', async () => {
    requireRoot();
    const node = vxlanNode();
    const f = flannelNode('flannel.4096', '10.244.2.1/24', { type: 'win-overlay', apiVersion });
    let mac = '';
    const first = await fullCycle(node.hns, 'pod2_flannel.4096', f.leased, async (command, netns, prevResult) => {
      const out = await flannel(command, prevResult ? { ...f.conf, prevResult } : f.conf, {
        ...node.hns.env,
        CNI_CONTAINERID: 'pod2',
        CNI_NETNS: netns,
        WEFT_TEST_VAR_LIB_CNI: f.varLibCni,
      });
      if (command === 'ADD' && !mac) mac = node.hns.endpoint('pod2_flannel.4096')?.mac ?? '';
      return out;
    });
    expect(first.ips).toEqual([{ address: '10.244.2.2/24', gateway: '10.244.2.1' }]);
    expect(mac).toBe('0E-2A-0a-f4-02-02');
  }, CYCLE_TIMEOUT_MS);
});

describe("flannel's Windows records", () => {
  it('an exhausted ADD through flannel -> win-bridge reclaims the pod whose HNS namespace is gone; GC DELs what the runtime does not list; the "dummy" and reference leases stay', async () => {
    requireRoot();
    const node = hostGwNode();
    const f = flannelNode('cbr0', '10.244.1.1/24', { type: 'win-bridge', apiVersion: 2 });
    // The node's range (.3 to .254) is full but for .4: kube-proxy's source VIP at .3, pods of the reference plugins beyond.
    const store = path.join(f.varLibCni, 'networks', 'cbr0');
    fs.mkdirSync(store, { recursive: true });
    fs.writeFileSync(path.join(store, '10.244.1.3'), 'dummy\r\ndummy');
    for (let i = 5; i <= 254; i++) fs.writeFileSync(path.join(store, `10.244.1.${i}`), `ref${i}\r\neth0`);
    const records = () => fs.readdirSync(path.join(f.varLibCni, 'networks', '.weft', 'cbr0', 'attachments')).filter((n) => !n.startsWith('.'));
    const owner = (ip: string) => (fs.existsSync(path.join(store, ip)) ? fs.readFileSync(path.join(store, ip), 'utf8') : undefined);
    const cmd = (command: string, id: string, netns: string, conf: unknown = f.conf) =>
      flannel(command, conf, { ...node.hns.env, CNI_CONTAINERID: id, CNI_NETNS: netns, WEFT_TEST_VAR_LIB_CNI: f.varLibCni });

    const [ns1, ns2] = [node.hns.addNamespace(), node.hns.addNamespace()];
    const first = await cmd('ADD', 'pod1', ns1);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(owner('10.244.1.4')).toBe('pod1\r\neth0');
    expect(records()).toEqual(['pod1@eth0']);

    // pod1's namespace is gone without a DEL; pod2's ADD reclaims it through flannel (saved config, endpoint, lease).
    node.hns.removeNamespace(ns1);
    const second = await cmd('ADD', 'pod2', ns2);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).ips).toEqual([{ address: '10.244.1.4/24', gateway: '10.244.1.2' }]);
    expect(second.stderr).toMatch(/reclaimed the attachment of a pod that is gone .*containerId="pod1"/);
    expect(node.hns.endpoint('pod1_cbr0')).toBeUndefined();
    expect(node.hns.endpoint('pod2_cbr0')?.namespaceId).toBe(ns2);
    expect(fs.existsSync(path.join(f.conf.dataDir, 'pod1'))).toBe(false);
    expect(records()).toEqual(['pod2@eth0']);
    expect(owner('10.244.1.4')).toBe('pod2\r\neth0');

    // GC listing no attachment: pod2 goes (endpoint, lease, saved config); the leases weft did not make stay.
    const gc = await cmd('GC', '', '', { ...f.conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(node.hns.endpoint('pod2_cbr0')).toBeUndefined();
    expect(owner('10.244.1.4')).toBeUndefined();
    expect(fs.existsSync(path.join(f.conf.dataDir, 'pod2'))).toBe(false);
    expect(records()).toEqual([]);
    expect(owner('10.244.1.3')).toBe('dummy\r\ndummy');
    expect(f.leased()).toHaveLength(251);
  }, CYCLE_TIMEOUT_MS);

  it('records nothing, not even a directory in the default store, when host-local is not installed', async () => {
    requireRoot();
    const node = hostGwNode();
    const f = flannelNode('cbr0', '10.244.1.1/24', { type: 'win-bridge', apiVersion: 2 });
    const bin = tempDir('weft-bin-no-ipam-');
    // The links have no extension; this keeps node from reading them as ES modules.
    fs.writeFileSync(path.join(bin, 'package.json'), '{"type":"commonjs"}\n');
    for (const t of ['flannel', 'win-bridge']) fs.symlinkSync(path.join(cniBin, 'weft.cjs'), path.join(bin, t));
    const out = await flannel('ADD', f.conf, { ...node.hns.env, CNI_CONTAINERID: 'pod1', CNI_NETNS: node.hns.addNamespace(), CNI_PATH: bin, WEFT_TEST_VAR_LIB_CNI: f.varLibCni });
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout).msg).toContain('failed to find plugin "host-local"');
    expect(fs.readdirSync(f.varLibCni)).toEqual([]);
  }, CYCLE_TIMEOUT_MS);
});
