import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNetns, shIn } from '../../helpers/netns.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { BRIDGE, add, addrs, bridgeConf, cni, leases, link, links, makeRig } from './harness.ts';

// The reference bridge test suite's remaining cases (§5.5), translated.

describe('bridge L2 mode (50, 63)', () => {
  it('brings the pod interface up with only a link-local address', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { ipam: {} });
    const r = await add(rig, conf, pod);
    expect(r.ips).toBeUndefined();
    expect(r.interfaces.map((i) => i.name)).toEqual([BRIDGE, r.interfaces[1]!.name, 'eth0']);
    expect(link(pod, 'eth0')!.operstate).toBe('UP');
    expect(addrs(pod, 'eth0', 'inet')).toEqual([]);
    expect(addrs(pod, 'eth0', 'inet6').every((a) => a.startsWith('fe80:'))).toBe(true);
    expect(addrs(rig.host, BRIDGE, 'inet')).toEqual([]);
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
    expect(link(pod, 'eth0')).toBeUndefined();
  });

  it('fails at 0.2.0, which cannot express a result without IPs, and leaves no veth', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const r = await cni(rig, 'ADD', bridgeConf(rig, { ipam: {}, cniVersion: '0.2.0' }), pod);
    expect(r.code).toBe(1);
    expect(r.json?.msg).toBe('cannot convert: no valid IP addresses');
    expect(links(rig.host).filter((l) => l.ifname.startsWith('veth'))).toEqual([]);
  });

  it('leaves the pod interface down with disableContainerInterface (63)', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    await add(rig, bridgeConf(rig, { ipam: {}, disableContainerInterface: true }), pod);
    const eth0 = link(pod, 'eth0')!;
    expect(eth0.flags).not.toContain('UP');
    expect(addrs(pod, 'eth0', 'inet6')).toEqual([]);
  });

  it('refuses IPAM together with disableContainerInterface (62)', async () => {
    const rig = makeRig();
    const r = await cni(rig, 'ADD', bridgeConf(rig, { disableContainerInterface: true }), createNetns('bp'));
    expect(r.json?.msg).toBe('cannot use IPAM when DisableContainerInterface flag is set');
    expect(leases(rig)).toEqual([]);
  });
});

describe('bridge port and bridge flags', () => {
  it('sets promiscuous mode on the bridge (55)', async () => {
    const rig = makeRig();
    await add(rig, bridgeConf(rig, { promiscMode: true }), createNetns('bp'));
    expect(link(rig.host, BRIDGE)!.flags).toContain('PROMISC');
  });

  it('sets the isolated flag on the host port as configured (64)', async () => {
    for (const portIsolation of [false, true]) {
      const rig = makeRig();
      const r = await add(rig, bridgeConf(rig, { ipam: {}, portIsolation }), createNetns('bp'));
      const isolated = shIn(rig.host, `cat /sys/class/net/${r.interfaces[1]!.name}/brport/isolated`).trim();
      expect(isolated).toBe(portIsolation ? '1' : '0');
    }
  });

  it('refuses a string where a bool belongs, naming the field', async () => {
    const rig = makeRig();
    const r = await cni(rig, 'ADD', bridgeConf(rig, { portIsolation: 'true' }), createNetns('bp'));
    expect(r.json).toEqual({
      code: 6,
      msg: 'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.portIsolation of type bool',
    });
  });
});

describe('bridge container MAC sources (57)', () => {
  // host-local gets the same CNI_ARGS and knows no MAC, hence IgnoreUnknown (as kubelet sends).
  const cases = [
    { what: 'CNI_ARGS', args: 'IgnoreUnknown=1;MAC=02:00:00:00:00:00', over: {}, want: '02:00:00:00:00:00' },
    { what: 'args.cni.mac over CNI_ARGS', args: 'IgnoreUnknown=1;MAC=02:00:00:00:04:56', over: { args: { cni: { mac: '02:00:00:00:00:00' } } }, want: '02:00:00:00:00:00' },
    {
      what: 'RuntimeConfig.mac over both',
      args: 'IgnoreUnknown=1;MAC=02:00:00:00:04:56',
      over: { args: { cni: { mac: '02:00:00:00:07:89' } }, RuntimeConfig: { mac: '02:00:00:00:00:00' } },
      want: '02:00:00:00:00:00',
    },
  ];
  for (const c of cases) {
    it(`uses ${c.what}`, async () => {
      const rig = makeRig();
      const pod = createNetns('bp');
      const r = await add(rig, bridgeConf(rig, c.over), pod, { args: c.args });
      expect(r.interfaces[2]!.mac).toBe(c.want);
      expect(link(pod, 'eth0')!.address).toBe(c.want);
    });
  }

  it('refuses a MAC that is not one', async () => {
    const rig = makeRig();
    const r = await cni(rig, 'ADD', bridgeConf(rig), createNetns('bp'), { args: 'MAC=zz' });
    expect(r.json).toEqual({ code: 7, msg: 'failed to make veth pair: address zz: invalid MAC address' });
  });
});

describe('bridge DNS', () => {
  it('returns the DNS host-local read from resolvConf (49)', async () => {
    const rig = makeRig();
    const resolv = path.join(tempDir(), 'resolv.conf');
    fs.writeFileSync(resolv, 'nameserver 192.0.2.0\n');
    const conf = bridgeConf(rig, { isDefaultGateway: true });
    (conf.ipam as Record<string, unknown>).resolvConf = resolv;
    const r = await add(rig, conf, createNetns('bp'));
    expect(r.dns).toEqual({ nameservers: ['192.0.2.0'] });
  });

  it("lets the config's dns replace IPAM's", async () => {
    const rig = makeRig();
    const resolv = path.join(tempDir(), 'resolv.conf');
    fs.writeFileSync(resolv, 'nameserver 192.0.2.0\n');
    const conf = bridgeConf(rig, { dns: { nameservers: ['198.51.100.53'], search: ['cluster.local'] } });
    (conf.ipam as Record<string, unknown>).resolvConf = resolv;
    const r = await add(rig, conf, createNetns('bp'));
    expect(r.dns).toEqual({ nameservers: ['198.51.100.53'], search: ['cluster.local'] });
  });
});

describe('bridge VLANs (51, 52)', () => {
  it('refuses vlan and vlanTrunk plainly instead of half-applying them', async () => {
    for (const over of [{ vlan: 100 }, { vlanTrunk: [{ id: 101 }] }]) {
      const rig = makeRig();
      const r = await cni(rig, 'ADD', bridgeConf(rig, over), createNetns('bp'));
      expect(r.json).toEqual({ code: 2, msg: 'vlan and vlanTrunk are not supported by weft bridge yet' });
      expect(links(rig.host).map((l) => l.ifname)).toEqual(['lo']);
    }
  });

  it('still validates them like the reference (65)', async () => {
    const rig = makeRig();
    const r = await cni(rig, 'ADD', bridgeConf(rig, { vlan: 5000 }), createNetns('bp'));
    expect(r.json).toEqual({ code: 7, msg: 'invalid VLAN ID 5000 (must be between 0 and 4094)' });
  });
});
