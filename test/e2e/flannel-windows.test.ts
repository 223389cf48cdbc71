import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns.ts';
import { type RunResult, run } from '../helpers/run.ts';
import { cniBin, tempDir } from '../helpers/tmp.ts';
import { expectFixedCommandLines, hostGwNode, vxlanNode } from '../plugins/windows-common/harness.ts';

// flannel's Windows delegate flowing into weft's win-bridge / win-overlay in
// the same process (a win-* delegate gets flannel's Windows delegate config), against
// the HNS stand-in. As on Windows, the delegate's host-local uses its default
// data dir; the plugin runs in a private mount namespace whose /var/lib is a
// fresh tmpfs, so the machine's own /var/lib/cni is never touched.

const PRIVATE_VAR_LIB = 'mount -t tmpfs weft-var-lib /var/lib && mkdir -p /var/lib/cni && "$@"; status=$?; ls -R /var/lib/cni/networks >&2; exit $status';

function flannel(command: string, conf: unknown, env: Record<string, string>): Promise<RunResult> {
  return run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', PRIVATE_VAR_LIB, 'sh', path.join(cniBin, 'flannel')], {
    env: {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_IFNAME: 'eth0',
      CNI_PATH: cniBin,
      WEFT_LOG_FILE: 'stderr',
      WEFT_LOG_LEVEL: 'debug',
      ...env,
    },
    stdin: JSON.stringify(conf),
  });
}

function flannelConf(name: string, delegate: Record<string, unknown>) {
  const dir = tempDir('weft-flannel-win-');
  fs.writeFileSync(path.join(dir, 'subnet.env'), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  return { name, cniVersion: '1.0.0', type: 'flannel', subnetFile: path.join(dir, 'subnet.env'), dataDir: path.join(dir, 'flannel'), delegate };
}

describe("flannel's Windows delegate in process", () => {
  it('host-gw: flannel -> win-bridge -> host-local in one process, leases from .3, one PowerShell per command', async () => {
    requireRoot();
    const node = hostGwNode();
    const ns = node.hns.addNamespace();
    const conf = flannelConf('cbr0', { type: 'win-bridge', apiVersion: 2 });
    const env = { ...node.hns.env, CNI_CONTAINERID: 'pod1', CNI_NETNS: ns };

    const add = await flannel('ADD', conf, env);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).ips).toEqual([{ address: '10.244.1.3/24', gateway: '10.244.1.2' }]);
    // Both delegations stayed in the flannel process.
    expect(add.stderr).toMatch(/flannel\[(\d+)\] DEBUG delegate ADD in process .*"win-bridge"/);
    expect(add.stderr).toMatch(/win-bridge\[\d+\] DEBUG delegate ADD in process .*"host-local"/);
    expect(add.stderr).toContain('10.244.1.3');
    const endpoint = node.hns.endpoint('pod1_cbr0')!;
    expect(endpoint.ip).toBe('10.244.1.3');
    expect(node.hns.state().namespaces.find((n) => n.id === ns)!.endpointIds).toEqual([endpoint.id]);
    // ipMasqNetwork from FLANNEL_NETWORK became the OutBoundNAT exception.
    expect(endpoint.policies).toContainEqual({ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } });

    const del = await flannel('DEL', conf, env);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(node.hns.endpoint('pod1_cbr0')).toBeUndefined();
    expectFixedCommandLines(node.hns, 2);
  });

  it('vxlan: flannel -> win-overlay, MAC from the address, network gateway .1', async () => {
    requireRoot();
    const node = vxlanNode();
    const ns = node.hns.addNamespace();
    const conf = flannelConf('flannel.4096', { type: 'win-overlay', apiVersion: 2 });
    conf.subnetFile = (() => {
      fs.writeFileSync(conf.subnetFile, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.2.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n');
      return conf.subnetFile;
    })();
    const env = { ...node.hns.env, CNI_CONTAINERID: 'pod2', CNI_NETNS: ns };

    const add = await flannel('ADD', conf, env);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).ips).toEqual([{ address: '10.244.2.2/24', gateway: '10.244.2.1' }]);
    expect(node.hns.endpoint('pod2_flannel.4096')!.mac).toBe('0E-2A-0a-f4-02-02');

    expect((await flannel('DEL', conf, env)).code).toBe(0);
    expect(node.hns.endpoint('pod2_flannel.4096')).toBeUndefined();
  });
});
