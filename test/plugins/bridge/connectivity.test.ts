import { describe, expect, it } from 'vitest';
import { createNetns, shIn } from '../../helpers/netns.ts';
import { BRIDGE, type Result, add, bridgeConf, cni, leases, links, makeRig } from './harness.ts';

// Traffic through the bridge, and many pods at once.

const ipOf = (r: Result): string => r.ips[0]!.address.split('/')[0]!;

/** Addresses among `ips` that `ns` cannot ping (one shell, so cheap for many). */
function unreachable(ns: Parameters<typeof shIn>[0], ips: string[]): string[] {
  const out = shIn(ns, `for ip in ${ips.join(' ')}; do ping -c1 -W2 -q "$ip" >/dev/null 2>&1 || echo "$ip"; done`);
  return out.split('\n').filter((l) => l !== '');
}

describe('bridge connectivity', () => {
  it('lets two pods reach each other and the gateway', async () => {
    const rig = makeRig();
    const conf = bridgeConf(rig, { isGateway: true });
    const pods = [createNetns('bp'), createNetns('bp')];
    const a = await add(rig, conf, pods[0]!, { id: 'pod-a' });
    const b = await add(rig, conf, pods[1]!, { id: 'pod-b' });
    expect(ipOf(a)).not.toBe(ipOf(b));
    expect(unreachable(pods[0]!, [ipOf(b), '10.1.2.1'])).toEqual([]);
    expect(unreachable(pods[1]!, [ipOf(a), '10.1.2.1'])).toEqual([]);
  });

  it('reaches pods over IPv6 too', async () => {
    const rig = makeRig();
    const conf = bridgeConf(rig, { isDefaultGateway: true }, ['fd00:1::/64']);
    const pods = [createNetns('bp'), createNetns('bp')];
    await add(rig, conf, pods[0]!, { id: 'pod-a' });
    const b = await add(rig, conf, pods[1]!, { id: 'pod-b' });
    expect(unreachable(pods[0]!, [ipOf(b), 'fd00:1::1'])).toEqual([]);
  });

  it('turns hairpin mode on for the pod port', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const r = await add(rig, bridgeConf(rig, { hairpinMode: true }), pod);
    expect(shIn(rig.host, `cat /sys/class/net/${r.interfaces[1]!.name}/brport/hairpin_mode`).trim()).toBe('1');
    const plain = await add(rig, bridgeConf(rig), createNetns('bp'), { id: 'other' });
    expect(shIn(rig.host, `cat /sys/class/net/${plain.interfaces[1]!.name}/brport/hairpin_mode`).trim()).toBe('0');
  });

  it('refuses hairpin together with promiscuous mode', async () => {
    const rig = makeRig();
    const r = await cni(rig, 'ADD', bridgeConf(rig, { hairpinMode: true, promiscMode: true }), createNetns('bp'));
    expect(r.code).toBe(1);
    expect(r.json?.msg).toBe('cannot set hairpin mode and promiscuous mode at the same time');
  });

  it('survives 32 concurrent ADDs on a new bridge: distinct addresses, all reachable; concurrent DELs leave nothing', async () => {
    const rig = makeRig();
    const conf = bridgeConf(rig, { isDefaultGateway: true, ipMasq: true }, ['10.1.0.0/16']);
    const pods = Array.from({ length: 32 }, () => createNetns('bp'));
    const runs = await Promise.all(pods.map((p, i) => cni(rig, 'ADD', conf, p, { id: `pod-${i}` })));
    for (const r of runs) expect(r.code, r.stdout + r.stderr).toBe(0);
    const ips = runs.map((r) => ipOf(r.json as unknown as Result));
    expect(new Set(ips).size).toBe(32);
    expect(leases(rig)).toHaveLength(32);
    expect(unreachable(rig.host, ips)).toEqual([]);
    expect(unreachable(pods[0]!, [ips[31]!])).toEqual([]);
    expect(links(rig.host).filter((l) => l.master === BRIDGE)).toHaveLength(32);
    expect(shIn(rig.host, 'iptables -t nat -S POSTROUTING').match(/-j CNI-/g)).toHaveLength(32);

    const dels = await Promise.all(pods.map((p, i) => cni(rig, 'DEL', conf, p, { id: `pod-${i}` })));
    for (const r of dels) expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(leases(rig)).toEqual([]);
    expect(links(rig.host).filter((l) => l.master === BRIDGE)).toEqual([]);
    expect(shIn(rig.host, 'iptables -t nat -S')).not.toContain('CNI-');
  });
});

describe("bridge behind flannel (flannel's delegate config)", () => {
  it('connects pods across the flannel route and passes CHECK', async () => {
    const rig = makeRig();
    // What flannel hands its delegate: hairpin, MTU of the overlay, gateway routes without gw.
    const conf = {
      cniVersion: '0.3.1',
      name: 'cbr0',
      type: 'bridge',
      bridge: 'cni0',
      mtu: 1450,
      hairpinMode: true,
      isGateway: true,
      isDefaultGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }], dataDir: rig.dataDir },
    };
    const pods = [createNetns('bp'), createNetns('bp')];
    const a = await add(rig, conf, pods[0]!, { id: 'pod-a' });
    const b = await add(rig, conf, pods[1]!, { id: 'pod-b' });
    expect(a.routes).toEqual([{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }]);
    expect(unreachable(pods[0]!, [ipOf(b), '10.244.1.1'])).toEqual([]);
    const check = await cni(rig, 'CHECK', { ...conf, cniVersion: '0.4.0', prevResult: { ...b, cniVersion: '0.4.0' } }, pods[1]!, { id: 'pod-b' });
    expect(check.code, check.stdout).toBe(0);
    for (const [i, p] of pods.entries()) expect((await cni(rig, 'DEL', conf, p, { id: `pod-${'ab'[i]}` })).code).toBe(0);
    expect(links(rig.host).filter((l) => l.master === 'cni0')).toEqual([]);
  });
});
