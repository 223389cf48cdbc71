import { describe, expect, it } from 'vitest';
import { createNetns, ipIn, ipJson, shIn } from '../../helpers/netns.ts';
import { BRIDGE, add, addrs, bridgeConf, cni, leases, link, links, makeRig, recordingIpam, routes } from './harness.ts';

// bridge ADD and DEL against the kernel, in namespaces made per test: the
// reference test suite's common assertions (bridge_test.go, §5.5 49).

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

describe('bridge ADD/DEL (IPv4, isDefaultGateway)', () => {
  it('creates the bridge, a veth pair into the pod, addresses, gateway and default route; DEL removes the pair', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isDefaultGateway: true });
    const r = await add(rig, conf, pod);

    expect(r.interfaces).toHaveLength(3);
    const [br, hostVeth, cont] = r.interfaces;
    expect(br!.name).toBe(BRIDGE);
    expect(br!.mac).toMatch(MAC);
    expect(hostVeth!.name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(hostVeth!.mac).toMatch(MAC);
    expect(hostVeth!.sandbox).toBeUndefined();
    expect(cont).toEqual({ name: 'eth0', mac: expect.stringMatching(MAC), sandbox: pod.path });
    expect(r.ips).toEqual([{ address: '10.1.2.2/24', gateway: '10.1.2.1', interface: 2 }]);
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.2.1' }]);

    // Host: exactly lo, the bridge and the host veth; the bridge carries the gateway.
    const host = links(rig.host);
    expect(host.map((l) => l.ifname).sort()).toEqual([BRIDGE, hostVeth!.name, 'lo'].sort());
    const brLink = host.find((l) => l.ifname === BRIDGE)!;
    expect(brLink.linkinfo?.info_kind).toBe('bridge');
    expect(brLink.address).toBe(br!.mac);
    expect(brLink.flags).toContain('UP');
    expect(addrs(rig.host, BRIDGE, 'inet')).toEqual(['10.1.2.1/24']);
    const vethLink = host.find((l) => l.ifname === hostVeth!.name)!;
    expect(vethLink.master).toBe(BRIDGE);
    expect(vethLink.address).toBe(hostVeth!.mac);
    expect(vethLink.address).not.toBe(brLink.address);
    expect(shIn(rig.host, 'cat /proc/sys/net/ipv4/ip_forward').trim()).toBe('1');

    // Pod: eth0 is a veth, up, with the address and a default route via the gateway.
    const eth0 = link(pod, 'eth0')!;
    expect(eth0.linkinfo?.info_kind).toBe('veth');
    expect(eth0.operstate).toBe('UP');
    expect(eth0.address).toBe(cont!.mac);
    expect(addrs(pod, 'eth0', 'inet')).toEqual(['10.1.2.2/24']);
    expect(routes(pod).find((x) => x.dst === 'default')).toMatchObject({ gateway: '10.1.2.1', dev: 'eth0' });

    const del = await cni(rig, 'DEL', conf, pod);
    expect(del.code, del.stdout).toBe(0);
    expect(link(pod, 'eth0')).toBeUndefined();
    expect(link(rig.host, hostVeth!.name)).toBeUndefined();
    // The bridge and its gateway stay for other pods.
    expect(addrs(rig.host, BRIDGE, 'inet')).toEqual(['10.1.2.1/24']);
    expect(leases(rig)).toEqual([]);
  });

  it('applies the MTU to a new bridge and both veth ends, and the IPAM routes inside the pod', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isGateway: true, mtu: 1400 });
    (conf.ipam as Record<string, unknown>).routes = [{ dst: '10.244.0.0/16' }, { dst: '192.0.2.0/24', gw: '10.1.2.254' }];
    const r = await add(rig, conf, pod);
    expect(link(rig.host, BRIDGE)!.mtu).toBe(1400);
    expect(link(rig.host, r.interfaces[1]!.name)!.mtu).toBe(1400);
    expect(link(pod, 'eth0')!.mtu).toBe(1400);
    // A route without a gateway goes via the pod's gateway (Go's ConfigureIface).
    const rs = routes(pod);
    expect(rs.find((x) => x.dst === '10.244.0.0/16')).toMatchObject({ gateway: '10.1.2.1', dev: 'eth0' });
    expect(rs.find((x) => x.dst === '192.0.2.0/24')).toMatchObject({ gateway: '10.1.2.254', dev: 'eth0' });
    expect(rs.find((x) => x.dst === 'default')).toBeUndefined();
    expect(r.routes).toEqual([{ dst: '10.244.0.0/16' }, { dst: '192.0.2.0/24', gw: '10.1.2.254' }]);
  });

  it('reuses an existing bridge (48)', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    ipIn(rig.host, 'link', 'add', BRIDGE, 'type', 'bridge');
    const before = link(rig.host, BRIDGE)!;
    await add(rig, bridgeConf(rig), pod);
    const after = link(rig.host, BRIDGE)!;
    expect(after.ifindex).toBe(before.ifindex);
    expect(after.flags).toContain('UP');
    expect(links(rig.host).filter((l) => l.master === BRIDGE)).toHaveLength(1);
  });

  it('refuses a link of another kind under the bridge name', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    ipIn(rig.host, 'link', 'add', BRIDGE, 'type', 'veth', 'peer', 'name', 'other0');
    const r = await cni(rig, 'ADD', bridgeConf(rig), pod);
    expect(r.code).toBe(1);
    expect(r.json).toEqual({ code: 999, msg: `failed to create bridge "${BRIDGE}": "${BRIDGE}" already exists but is not a bridge` });
    expect(leases(rig)).toEqual([]);
  });

  it('keeps the MAC of an existing bridge across ADD and DEL (56)', async () => {
    for (const subnet of ['10.1.2.0/24', '2001:db8:42::/64']) {
      const rig = makeRig();
      const pod = createNetns('bp');
      ipIn(rig.host, 'link', 'add', BRIDGE, 'type', 'bridge');
      const mac = link(rig.host, BRIDGE)!.address;
      const conf = bridgeConf(rig, { isDefaultGateway: true }, [subnet]);
      await add(rig, conf, pod);
      expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
      expect(link(rig.host, BRIDGE)!.address).toBe(mac);
    }
  });

  it('fails with the reference message when the pod already has the interface, and leaks nothing', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig);
    await add(rig, conf, pod, { id: 'first' });
    const r = await cni(rig, 'ADD', conf, pod, { id: 'second' });
    expect(r.code).toBe(1);
    expect(r.json?.msg).toMatch(/^container veth name \("eth0"\) peer provided \("veth[0-9a-f]{8}"\) already exists$/);
    expect(leases(rig)).toHaveLength(1);
    expect(links(rig.host).filter((l) => l.ifname.startsWith('veth'))).toHaveLength(1);
  });

  it('takes a namespace given as /proc/<pid>/ns/net', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const sleeper = shIn(pod, 'sleep 30 >/dev/null 2>&1 & echo $!').trim();
    try {
      const procPath = `/proc/${sleeper}/ns/net`;
      const conf = bridgeConf(rig, { isGateway: true });
      const r = await add(rig, conf, { name: pod.name, path: procPath });
      expect(r.interfaces[2]!.sandbox).toBe(procPath);
      expect(addrs(pod, 'eth0', 'inet')).toEqual(['10.1.2.2/24']);
      expect((await cni(rig, 'DEL', conf, procPath)).code).toBe(0);
      expect(link(pod, 'eth0')).toBeUndefined();
    } finally {
      process.kill(Number(sleeper));
    }
  });
});

describe('bridge ADD across spec versions', () => {
  for (const version of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
    it(`prints a ${version} result with interfaces and ips on interface 2`, async () => {
      const rig = makeRig();
      const pod = createNetns('bp');
      const conf = bridgeConf(rig, { cniVersion: version, isDefaultGateway: true });
      const r = await cni(rig, 'ADD', conf, pod);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toContain('"interfaces":');
      expect(r.json?.cniVersion).toBe(version);
      const ips = r.json?.ips as { interface: number; address: string }[];
      expect(ips[0]).toMatchObject({ interface: 2, address: '10.1.2.2/24' });
      expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
    });
  }

  it('prints a 0.2.0 result as ip4', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { cniVersion: '0.2.0', isDefaultGateway: true });
    const r = await cni(rig, 'ADD', conf, pod);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('"ip4":');
    expect(r.json?.ip4).toMatchObject({ ip: '10.1.2.2/24', gateway: '10.1.2.1' });
  });
});

describe('bridge IPv6 and dual stack (49)', () => {
  it('puts both gateways on the bridge and a default route per family in the pod', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isDefaultGateway: true }, ['192.168.0.0/24', 'fd00::/64']);
    const r = await add(rig, conf, pod);
    expect(r.ips).toEqual([
      { address: '192.168.0.2/24', gateway: '192.168.0.1', interface: 2 },
      { address: 'fd00::2/64', gateway: 'fd00::1', interface: 2 },
    ]);
    expect(addrs(rig.host, BRIDGE, 'inet')).toEqual(['192.168.0.1/24']);
    expect(addrs(rig.host, BRIDGE, 'inet6')).toContain('fd00::1/64');
    expect(addrs(pod, 'eth0', 'inet')).toEqual(['192.168.0.2/24']);
    const v6 = addrs(pod, 'eth0', 'inet6');
    expect(v6).toContain('fd00::2/64');
    expect(v6.filter((a) => a.startsWith('fe80:'))).toHaveLength(1);
    expect(routes(pod).find((x) => x.dst === 'default')?.gateway).toBe('192.168.0.1');
    expect(routes(pod, '-6').find((x) => x.dst === 'default')?.gateway).toBe('fd00::1');
    expect(shIn(rig.host, 'cat /proc/sys/net/ipv6/conf/all/forwarding').trim()).toBe('1');
    // DAD is off by default, so the address is usable at once.
    const info = ipJson<{ addr_info: { local: string; tentative?: boolean }[] }[]>(pod, 'addr', 'show', 'dev', 'eth0');
    expect(info[0]!.addr_info.find((a) => a.local === 'fd00::2')?.tentative).toBeUndefined();
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
  });

  it('waits for duplicate address detection with enabledad', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isDefaultGateway: true, enabledad: true }, ['2001:db8::/64']);
    await add(rig, conf, pod);
    expect(shIn(pod, 'cat /proc/sys/net/ipv6/conf/eth0/accept_dad').trim()).toBe('1');
    const info = ipJson<{ addr_info: { local: string; tentative?: boolean }[] }[]>(pod, 'addr', 'show', 'dev', 'eth0');
    const global = info[0]!.addr_info.find((a) => a.local === '2001:db8::2');
    expect(global).toBeDefined();
    expect(global!.tentative).toBeUndefined();
  });
});

describe('bridge ADD that cannot go through leaves nothing behind', () => {
  it("refuses its own namespace before any work: one error document, no lease, no bridge", async () => {
    const rig = makeRig();
    const r = await cni(rig, 'ADD', bridgeConf(rig, { isGateway: true }), rig.host);
    expect(r.code).toBe(1);
    // Exactly one document: a runtime parses it, instead of seeing code 0 "error parsing its diagnostic message".
    expect(JSON.parse(r.stdout)).toEqual({ code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });
    expect(leases(rig)).toEqual([]);
    expect(link(rig.host, BRIDGE)).toBeUndefined();
    expect(links(rig.host).filter((l) => l.ifname.startsWith('veth'))).toEqual([]);
  });

  it('releases the IPAM lease when IPAM itself fails (it may have leased before failing)', async () => {
    const ipam = recordingIpam({ ADD: '{"code":11,"msg":"leased, then the disk filled up"}' });
    const rig = makeRig({ 'rec-ipam': ipam.file });
    const pod = createNetns('bp');
    const r = await cni(rig, 'ADD', bridgeConf(rig, { isGateway: true, ipam: { type: 'rec-ipam' } }), pod);
    expect(r.json).toEqual({ code: 11, msg: 'leased, then the disk filled up' });
    expect(ipam.calls().map((c) => c.split(' ')[0])).toEqual(['ADD', 'DEL']);
    expect(links(rig.host).filter((l) => l.ifname.startsWith('veth'))).toEqual([]);
  });
});
