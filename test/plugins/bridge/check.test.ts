import { describe, expect, it } from 'vitest';
import { createNetns, ipIn } from '../../helpers/netns.ts';
import { type Result, add, bridgeConf, cni, makeRig } from './harness.ts';

// CHECK (§3.7, §5.5 60): the prevResult's interfaces, addresses and routes
// must be present.

const withPrev = (conf: Record<string, unknown>, prev: Result) => ({ ...conf, prevResult: prev });

describe('bridge CHECK', () => {
  it('passes on a healthy pod and fails once its address is removed', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isDefaultGateway: true }, ['10.1.2.0/24', 'fd00::/64']);
    const r = await add(rig, conf, pod);
    const ok = await cni(rig, 'CHECK', withPrev(conf, r), pod);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toBe('');
    ipIn(pod, 'addr', 'del', '10.1.2.2/24', 'dev', 'eth0');
    const bad = await cni(rig, 'CHECK', withPrev(conf, r), pod);
    expect(bad.code).toBe(1);
    expect(bad.json).toEqual({ code: 999, msg: 'Failed to match addr 10.1.2.2/24 on interface eth0' });
  });

  it("accepts a route without a gateway, such as flannel's, and fails when it is gone", async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isGateway: true, cniVersion: '0.4.0' });
    (conf.ipam as Record<string, unknown>).routes = [{ dst: '10.244.0.0/16' }];
    const r = await add(rig, conf, pod);
    expect(r.routes).toEqual([{ dst: '10.244.0.0/16' }]);
    const ok = await cni(rig, 'CHECK', withPrev(conf, r), pod);
    expect(ok.code, ok.stdout).toBe(0);
    ipIn(pod, 'route', 'del', '10.244.0.0/16');
    const bad = await cni(rig, 'CHECK', withPrev(conf, r), pod);
    expect(bad.json?.msg).toBe(
      'Expected Route {Dst:{IP:10.244.0.0 Mask:ffff0000} GW:<nil> MTU:0 AdvMSS:0 Priority:0 Table:<nil> Scope:<nil>} not found in routing table',
    );
  });

  it('passes for an L2 bridge, which has no IPAM to ask', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { ipam: {} });
    const r = await add(rig, conf, pod);
    const ok = await cni(rig, 'CHECK', withPrev(conf, r), pod);
    expect(ok.code, ok.stdout).toBe(0);
  });

  it('names what does not match', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig);
    const r = await add(rig, conf, pod);
    const missing = await cni(rig, 'CHECK', conf, pod);
    expect(missing.json?.msg).toBe('Required prevResult missing');
    const promisc = await cni(rig, 'CHECK', withPrev({ ...conf, promiscMode: true }, r), pod);
    expect(promisc.json?.msg).toBe('Bridge interface bridge0 configured Promisc Mode true doesn\'t match current state: false ');
    const badMac = structuredClone(r);
    badMac.interfaces[2]!.mac = '02:00:00:00:00:99';
    const mac = await cni(rig, 'CHECK', withPrev(conf, badMac), pod);
    expect(mac.json?.msg).toBe(`Interface eth0 Mac 02:00:00:00:00:99 doesn't match container Mac: ${r.interfaces[2]!.mac}`);
    const otherNs = structuredClone(r);
    otherNs.interfaces[2]!.sandbox = '/var/run/netns/elsewhere';
    const sandbox = await cni(rig, 'CHECK', withPrev(conf, otherNs), pod);
    expect(sandbox.json?.msg).toBe(`Sandbox in prevResult  doesn't match configured netns: ${pod.path}`);
    const old = await cni(rig, 'CHECK', withPrev({ ...conf, cniVersion: '0.3.1' }, r), pod);
    expect(old.json).toEqual({ code: 1, msg: 'config version does not allow CHECK' });
  });

  it('passes on a pod the reference bridge made, and the reference passes on ours', async () => {
    const rig = makeRig({ 'ref-bridge': '/usr/lib/cni/bridge' });
    const conf = bridgeConf(rig, { isDefaultGateway: true });
    const refPod = createNetns('bp');
    const weftPod = createNetns('bp');
    const refResult = await add(rig, conf, refPod, { id: 'ref', plugin: 'ref-bridge' });
    const weftResult = await add(rig, conf, weftPod, { id: 'weft' });
    const a = await cni(rig, 'CHECK', withPrev(conf, refResult), refPod, { id: 'ref' });
    expect(a.code, a.stdout).toBe(0);
    const b = await cni(rig, 'CHECK', withPrev(conf, weftResult), weftPod, { id: 'weft', plugin: 'ref-bridge' });
    expect(b.code, b.stdout).toBe(0);
  });
});
