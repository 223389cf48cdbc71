import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, ipIn, shIn } from '../../helpers/netns.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { BRIDGE, NET, add, addrs, bridgeConf, cni, leases, link, links, makeRig } from './harness.ts';

// DEL, masquerading and the rules that must not outlive a pod (§3.4, §3.6),
// and what a failed ADD leaves behind (nothing).

const natRules = (ns: Parameters<typeof shIn>[0]) => shIn(ns, 'iptables -t nat -S');

const chainOf = (net: string, id: string) => `CNI-${crypto.createHash('sha512').update(net + id).digest('hex').slice(0, 24)}`;

describe('bridge ipMasq (iptables)', () => {
  it('adds the reference chain with its comment, and DEL removes it', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true });
    await add(rig, conf, pod, { id: 'dummy-0' });
    const chain = chainOf(NET, 'dummy-0');
    const comment = `--comment "name: \\"${NET}\\" id: \\"dummy-0\\""`;
    const rules = natRules(rig.host);
    expect(rules).toContain(`-A POSTROUTING -s 10.1.2.2/32 -m comment ${comment} -j ${chain}`);
    expect(rules).toContain(`-A ${chain} -d 10.1.2.0/24 -m comment ${comment} -j ACCEPT`);
    expect(rules).toContain(`-A ${chain} ! -d 224.0.0.0/4 -m comment ${comment} -j MASQUERADE`);
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
    expect(natRules(rig.host)).not.toContain('CNI-');
  });

  it('masquerades both families of a dual-stack pod, and DEL removes both', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true }, ['10.1.2.0/24', 'fd00:5::/64']);
    await add(rig, conf, pod);
    const chain = chainOf(NET, 'dummy-0');
    expect(natRules(rig.host)).toContain(`-A POSTROUTING -s 10.1.2.2/32`);
    const v6 = shIn(rig.host, 'ip6tables -t nat -S');
    expect(v6).toContain(`-A ${chain} -d fd00:5::/64`);
    expect(v6).toContain(`-A ${chain} ! -d ff00::/8`);
    expect(v6).toContain(`-A POSTROUTING -s fd00:5::2/128`);
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
    expect(natRules(rig.host)).not.toContain('CNI-');
    expect(shIn(rig.host, 'ip6tables -t nat -S')).not.toContain('CNI-');
  });

  it('names its chain exactly like the reference bridge', async () => {
    const rig = makeRig({ 'ref-bridge': '/usr/lib/cni/bridge' });
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true });
    await add(rig, conf, createNetns('bp'), { id: 'ref-pod', plugin: 'ref-bridge' });
    await add(rig, conf, createNetns('bp'), { id: 'weft-pod' });
    const chains = natRules(rig.host)
      .split('\n')
      .filter((l) => l.startsWith('-N '))
      .map((l) => l.slice(3));
    expect(chains.sort()).toEqual([chainOf(NET, 'ref-pod'), chainOf(NET, 'weft-pod')].sort());
  });

  it('removes the rules and releases the lease when DEL comes after the namespace is gone', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true });
    const r = await add(rig, conf, pod);
    deleteNetns(pod);
    const del = await cni(rig, 'DEL', conf, pod);
    expect(del.code, del.stdout).toBe(0);
    expect(natRules(rig.host)).not.toContain('CNI-');
    expect(leases(rig)).toEqual([]);
    // The kernel took the host veth with the namespace.
    expect(link(rig.host, r.interfaces[1]!.name)).toBeUndefined();
    const again = await cni(rig, 'DEL', conf, pod);
    expect(again.code, again.stdout).toBe(0);
  });

  it('removes the rules when the pod interface was already gone (the reference leaks them)', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true });
    await add(rig, conf, pod);
    ipIn(pod, 'link', 'del', 'eth0');
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
    expect(natRules(rig.host)).not.toContain('CNI-');
    expect(leases(rig)).toEqual([]);
  });
});

describe('bridge ipMasq (nftables backend, 59)', () => {
  it('adds a commented masq_checks rule and DEL removes it', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true, ipMasqBackend: 'nftables' });
    await add(rig, conf, pod);
    const chain = shIn(rig.host, 'nft list chain inet cni_plugins_masquerade masq_checks');
    expect(chain).toMatch(/ip saddr 10\.1\.2\.2 ip daddr != 10\.1\.2\.0\/24 masquerade comment "[0-9a-f]{16}-[0-9a-f]{16}, net: testConfig, if: eth0, id: dummy-0"/);
    expect(shIn(rig.host, 'nft list chain inet cni_plugins_masquerade postrouting')).toContain('goto masq_checks');
    deleteNetns(pod);
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
    expect(shIn(rig.host, 'nft list chain inet cni_plugins_masquerade masq_checks')).not.toContain('masquerade comment');
  });

  it('rejects an unknown backend', async () => {
    const rig = makeRig();
    const r = await cni(rig, 'ADD', bridgeConf(rig, { ipMasq: true, ipMasqBackend: 'pf' }), createNetns('bp'));
    expect(r.json).toMatchObject({ msg: 'unknown ipmasq backend "pf"' });
    expect(leases(rig)).toEqual([]);
  });
});

describe('bridge macspoofchk (61)', () => {
  it('installs the nftables bridge rules for the pod MAC, and DEL removes them', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { macspoofchk: true });
    const r = await add(rig, conf, pod);
    const table = shIn(rig.host, 'nft list table bridge nat');
    // nft names priority -300 of the bridge family "dstnat".
    expect(table).toMatch(/chain PREROUTING \{\n\s+type filter hook prerouting priority (dstnat|-300); policy accept;/);
    expect(table).toContain(`iifname "${r.interfaces[1]!.name}" jump cni-br-iface-dummy-0-eth0 comment "macspoofchk-dummy-0-eth0"`);
    expect(table).toContain(`ether saddr ${r.interfaces[2]!.mac} return comment "macspoofchk-dummy-0-eth0"`);
    expect(table).toContain('drop comment "macspoofchk-dummy-0-eth0"');
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
    expect(shIn(rig.host, 'nft list table bridge nat')).not.toContain('macspoofchk');
  });

  it('drops frames from the pod once it changes its MAC', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    await add(rig, bridgeConf(rig, { macspoofchk: true, isGateway: true }), pod);
    const ping = () => shIn(pod, 'ping -c1 -W1 -q 10.1.2.1 >/dev/null 2>&1 && echo ok || echo lost').trim();
    expect(ping()).toBe('ok');
    ipIn(pod, 'link', 'set', 'eth0', 'address', '02:00:00:00:0b:ad');
    shIn(pod, 'ip neigh flush all');
    expect(ping()).toBe('lost');
  });
});

describe('bridge DEL', () => {
  it('succeeds when nothing was created (53), and twice', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { ipMasq: true, macspoofchk: true });
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
    expect((await cni(rig, 'DEL', conf, pod)).code).toBe(0);
  });

  it("removes the pod's link and its host veth while the namespace lives on", async () => {
    // DEL treats a namespace it cannot open as gone: only a namespace that
    // still exists shows that the link really was deleted inside it.
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig);
    const r = await add(rig, conf, pod);
    const hostVeth = r.interfaces[1]!.name;
    expect(link(pod, 'eth0')).toBeDefined();
    expect(link(rig.host, hostVeth)).toBeDefined();
    const del = await cni(rig, 'DEL', conf, pod);
    expect(del.code, del.stdout).toBe(0);
    expect(links(pod).map((l) => l.ifname)).toEqual(['lo']);
    expect(link(rig.host, hostVeth)).toBeUndefined();
    expect(leases(rig)).toEqual([]);
  });

  it('only releases the lease when CNI_NETNS is empty', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig);
    await add(rig, conf, pod);
    expect(leases(rig)).toHaveLength(1);
    expect((await cni(rig, 'DEL', conf, '')).code).toBe(0);
    expect(leases(rig)).toEqual([]);
    expect(link(pod, 'eth0')).toBeDefined();
  });

  it('refuses a path that is not a namespace, keeping the lease', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig);
    await add(rig, conf, pod);
    const notNs = tempDir();
    const r = await cni(rig, 'DEL', conf, notNs);
    expect(r.code).toBe(1);
    expect(r.json?.msg).toMatch(new RegExp(`^unknown FS magic on "${notNs}": [0-9a-f]+$`));
    expect(leases(rig)).toHaveLength(1);
  });
});

describe('bridge ADD failure after IPAM (58)', () => {
  it('releases the lease and removes the veth and masquerade rules when a pod route cannot be added', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const base = bridgeConf(rig, { isGateway: true, ipMasq: true });
    // A gateway that is not on the pod's link: the kernel refuses the route, after IPAM, masquerading and the veth.
    const conf = { ...base, ipam: { ...(base.ipam as object), routes: [{ dst: '10.50.0.0/16', gw: '192.0.2.1' }] } };
    const before = leases(rig).length;
    const r = await cni(rig, 'ADD', conf, pod);
    expect(r.code).toBe(1);
    expect(r.json?.msg).toMatch(/^failed to add route '10\.50\.0\.0\/16 via 192\.0\.2\.1 dev eth0 /);
    expect(leases(rig)).toHaveLength(before);
    expect(links(rig.host).map((l) => l.ifname).sort()).toEqual([BRIDGE, 'lo']);
    expect(link(pod, 'eth0')).toBeUndefined();
    expect(natRules(rig.host)).not.toContain('CNI-');
  });

  it('replaces the conflicting address with forceAddress (54)', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    ipIn(rig.host, 'link', 'add', BRIDGE, 'type', 'bridge');
    ipIn(rig.host, 'addr', 'add', '10.99.0.1/16', 'dev', BRIDGE);
    await add(rig, bridgeConf(rig, { isGateway: true, forceAddress: true }), pod);
    expect(addrs(rig.host, BRIDGE, 'inet')).toEqual(['10.1.2.1/24']);
  });

  it('without forceAddress, replaces an address whose subnet no lease lies in (the reference fails here)', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    ipIn(rig.host, 'link', 'add', BRIDGE, 'type', 'bridge');
    ipIn(rig.host, 'addr', 'add', '10.99.0.1/16', 'dev', BRIDGE);
    await add(rig, bridgeConf(rig, { isGateway: true }), pod);
    expect(addrs(rig.host, BRIDGE, 'inet')).toEqual(['10.1.2.1/24']);
  });

  it('keeps the gateway of an older subnet while a pod leases from it, adds the new one beside, and drops the old once unused', async () => {
    const rig = makeRig();
    const [old, next, last] = [createNetns('bp'), createNetns('bp'), createNetns('bp')];
    const oldConf = bridgeConf(rig, { isGateway: true }, ['10.99.0.0/16']);
    const newConf = bridgeConf(rig, { isGateway: true });
    await add(rig, oldConf, old, { id: 'old' });
    await add(rig, newConf, next, { id: 'next' });
    expect(addrs(rig.host, BRIDGE, 'inet')).toEqual(['10.99.0.1/16', '10.1.2.1/24']);
    expect((await cni(rig, 'DEL', oldConf, old, { id: 'old' })).code).toBe(0);
    await add(rig, newConf, last, { id: 'last' });
    expect(addrs(rig.host, BRIDGE, 'inet')).toEqual(['10.1.2.1/24']);
  });

  it('keeps an IPv6 address a lease still lies in, adds the gateway beside it, and replaces one nobody uses (54)', async () => {
    const rig = makeRig();
    const [a, b] = [createNetns('bp'), createNetns('bp')];
    ipIn(rig.host, 'link', 'add', BRIDGE, 'type', 'bridge');
    ipIn(rig.host, 'addr', 'add', 'fd00:1234::1/64', 'dev', BRIDGE, 'nodad');
    await add(rig, bridgeConf(rig, { isGateway: true }, ['fd00:99::/64']), a, { id: 'a' });
    const global6 = () => addrs(rig.host, BRIDGE, 'inet6').filter((x) => !x.startsWith('fe80')).sort();
    expect(global6()).toEqual(['fd00:99::1/64']);
    await add(rig, bridgeConf(rig, { isGateway: true }, ['2001:db8:1:2::/64']), b, { id: 'b' });
    expect(global6()).toEqual(['2001:db8:1:2::1/64', 'fd00:99::1/64']);
    expect(addrs(rig.host, BRIDGE, 'inet6').some((x) => x.startsWith('fe80'))).toBe(true);
  });
});
