import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Netns, createNetns, ipIn, runIn, shIn } from '../helpers/netns.ts';
import { type RunResult } from '../helpers/run.ts';
import { cniBin, tempDir } from '../helpers/tmp.ts';

// Pods on one node, created by weft's cnitool through weft's flannel,
// bridge and host-local (one process per ADD) and the reference portmap:
// they reach each other, CHECK passes on a healthy pod and fails on one
// whose address was removed, and DEL leaves nothing behind.

const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n';

function node() {
  const host = createNetns('wen');
  const dir = tempDir('weft-e2e-');
  const cniPath = path.join(dir, 'bin');
  fs.mkdirSync(cniPath);
  fs.writeFileSync(path.join(cniPath, 'package.json'), '{"type":"commonjs"}\n');
  for (const t of ['flannel', 'bridge', 'host-local', 'cnitool']) fs.symlinkSync(path.join(cniBin, 'weft.cjs'), path.join(cniPath, t));
  fs.symlinkSync('/usr/lib/cni/portmap', path.join(cniPath, 'portmap'));
  fs.writeFileSync(path.join(dir, 'subnet.env'), SUBNET_ENV);
  const confDir = path.join(dir, 'net.d');
  fs.mkdirSync(confDir);
  const conflist = {
    name: 'podnet',
    cniVersion: '1.0.0',
    plugins: [
      {
        type: 'flannel',
        subnetFile: path.join(dir, 'subnet.env'),
        dataDir: path.join(dir, 'flannel'),
        ipam: { dataDir: path.join(dir, 'leases') },
        delegate: { hairpinMode: true, isDefaultGateway: true },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  fs.writeFileSync(path.join(confDir, '10-podnet.conflist'), JSON.stringify(conflist));
  const env = { PATH: process.env.PATH, NETCONFPATH: confDir, CNI_PATH: cniPath, CNI_CACHE_DIR: path.join(dir, 'cache') };
  const cnitool = (verb: string, pod: Netns): Promise<RunResult> => runIn(host, path.join(cniPath, 'cnitool'), [verb, 'podnet', pod.path], { env });
  const leases = () => fs.readdirSync(path.join(dir, 'leases', 'podnet')).filter((f) => f.startsWith('10.'));
  return { host, cnitool, leases };
}

const ping = (from: Netns, to: string) => shIn(from, `ping -c 2 -W 2 ${to} >/dev/null && echo ok`).trim();

describe('pods through weft end to end', () => {
  it('reach each other; CHECK passes when healthy and fails once an address is removed; DEL cleans up', async () => {
    const n = node();
    const pods = [createNetns('wea'), createNetns('web')];
    const ips: string[] = [];
    for (const pod of pods) {
      const r = await n.cnitool('add', pod);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result.interfaces.map((i: { name: string }) => i.name)).toEqual(['cni0', expect.stringMatching(/^veth[0-9a-f]{8}$/), 'eth0']);
      ips.push(result.ips[0].address.split('/')[0]);
    }
    expect(ips).toEqual(['10.244.7.2', '10.244.7.3']);
    expect(ping(pods[0]!, ips[1]!)).toBe('ok');
    expect(ping(pods[1]!, ips[0]!)).toBe('ok');
    expect(ping(pods[0]!, '10.244.7.1')).toBe('ok');

    for (const pod of pods) expect((await n.cnitool('check', pod)).code).toBe(0);

    ipIn(pods[0]!, 'addr', 'del', '10.244.7.2/24', 'dev', 'eth0');
    const broken = await n.cnitool('check', pods[0]!);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('10.244.7.2');
    expect((await n.cnitool('check', pods[1]!)).code).toBe(0);

    for (const pod of pods) expect((await n.cnitool('del', pod)).code).toBe(0);
    expect(n.leases()).toEqual([]);
    expect(shIn(n.host, 'ip -o link show type veth')).toBe('');
  });
});
