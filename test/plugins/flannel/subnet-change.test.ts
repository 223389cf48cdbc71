import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Netns, ipJson, shIn } from '../../helpers/netns.ts';
import { kubeFlannelNode, podAddr } from './pods.ts';

// flanneld hands the node a new subnet and MTU (the node re-registered, or
// FLANNEL_MTU changed): the next ADD brings cni0 along, with no manual step.
// The old gateway stays while a pod still leases from the old subnet and
// goes with the first ADD after the last of them.

const subnetEnv = (subnet: string, mtu: number) => `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${subnet}\nFLANNEL_MTU=${mtu}\nFLANNEL_IPMASQ=true\n`;

interface Link {
  mtu: number;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

const cni0 = (host: Netns) => ipJson<Link[]>(host, 'addr', 'show', 'dev', 'cni0')[0]!;
const cni0Addrs = (host: Netns) => cni0(host).addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
const mtuOf = (ns: Netns, dev: string) => ipJson<Link[]>(ns, 'link', 'show', 'dev', dev)[0]!.mtu;
const pings = (from: Netns, to: string) => shIn(from, `ping -c 1 -W 2 ${to} >/dev/null && echo ok || echo unreachable`).trim();

describe('cni0 follows subnet.env', () => {
  it('a new subnet and MTU between two ADDs: both pods reachable, cni0 at the new address and MTU; the old address goes once unused; a larger MTU reaches cni0 too', async () => {
    const w = kubeFlannelNode(subnetEnv('10.244.1.1/24', 1450));
    const a = w.pod();
    await w.add(a);
    expect(a.ip).toBe('10.244.1.2');
    expect(cni0Addrs(w.host)).toEqual(['10.244.1.1/24']);
    expect(cni0(w.host).mtu).toBe(1450);

    w.writeSubnetEnv(subnetEnv('10.244.9.1/24', 1400));
    const b = w.pod();
    await w.add(b);
    expect(b.ip).toBe('10.244.9.2');
    // a still leases from 10.244.1.0/24, so its gateway stays beside the new one.
    expect(cni0Addrs(w.host)).toEqual(['10.244.1.1/24', '10.244.9.1/24']);
    expect(cni0(w.host).mtu).toBe(1400);
    expect(mtuOf(b.ns, 'eth0')).toBe(1400);
    expect(mtuOf(a.ns, 'eth0')).toBe(1450);
    expect(podAddr(a.ns)).toEqual(['10.244.1.2']);
    for (const [from, to] of [[w.host, a.ip!], [w.host, b.ip!], [a.ns, b.ip!], [b.ns, a.ip!]] as const) {
      expect(pings(from, to), `${from.name} -> ${to}`).toBe('ok');
    }
    // The saved configs are the reference's, each with the subnet it was added with.
    const savedOf = (id: string) => JSON.parse(fs.readFileSync(path.join(w.node.varLibCni, 'flannel', id), 'utf8'));
    expect(savedOf(a.id)).toMatchObject({ mtu: 1450, ipam: { ranges: [[{ subnet: '10.244.1.0/24' }]] } });
    expect(savedOf(b.id)).toMatchObject({ mtu: 1400, ipam: { ranges: [[{ subnet: '10.244.9.0/24' }]] } });

    await w.del(a);
    expect([...w.leases().keys()]).toEqual(['10.244.9.2']);
    // The MTU goes up too (a bridge left alone would stay at its smallest port's).
    w.writeSubnetEnv(subnetEnv('10.244.9.1/24', 1500));
    const c = w.pod();
    await w.add(c);
    expect(cni0Addrs(w.host)).toEqual(['10.244.9.1/24']);
    expect(cni0(w.host).mtu).toBe(1500);
    expect(mtuOf(c.ns, 'eth0')).toBe(1500);
    for (const [from, to] of [[w.host, c.ip!], [c.ns, b.ip!]] as const) expect(pings(from, to), `${from.name} -> ${to}`).toBe('ok');
  });
});
