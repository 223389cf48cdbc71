import { beforeEach, describe, expect, it } from 'vitest';
import type { Result100 } from '../../../src/cni/result/types.ts';
import { configureIface, planConfigureIface } from '../../../src/os/linux/configure.ts';
import { type Netns, createNetns, ipIn, ipJson, shIn } from '../../helpers/netns.ts';

// ConfigureIface (§3.3, §5.6 66-71) on a veth inside a namespace made per
// test. The reference tests use a dummy link; this kernel has no dummy
// driver, so eth0's peer (up, in the same namespace) gives it a carrier.

interface RouteJson {
  dst: string;
  gateway?: string;
  scope?: string;
  table?: string;
  nexthops?: { gateway: string }[];
}

const v4Routes = (ns: Netns, ...extra: string[]) => ipJson<RouteJson[]>(ns, 'route', 'show', ...extra);
const v6Routes = (ns: Netns) => ipJson<RouteJson[]>(ns, '-6', 'route', 'show');
const addrList = (ns: Netns, family: '-4' | '-6') =>
  ipJson<{ addr_info: { local: string; prefixlen: number }[] }[]>(ns, family, 'addr', 'show', 'dev', 'eth0')[0]?.addr_info.map(
    (a) => `${a.local}/${a.prefixlen}`,
  ) ?? [];

function baseResult(): Result100 {
  return {
    cniVersion: '1.1.0',
    interfaces: [
      { name: 'eth0', mac: '00:11:22:33:44:55', sandbox: '/proc/3553/ns/net' },
      { name: 'fake0', mac: '00:33:44:55:66:77', sandbox: '/proc/1234/ns/net' },
    ],
    ips: [
      { interface: 0, address: '1.2.3.30/24', gateway: '1.2.3.1' },
      { interface: 0, address: 'abcd:1234:ffff::cdde/64', gateway: 'abcd:1234:ffff::1' },
    ],
    routes: [
      { dst: '15.5.6.8/24', gw: '1.2.3.5' },
      { dst: '1111:dddd::aaaa/80', gw: 'abcd:1234:ffff::10' },
      { dst: '15.5.6.8/24', gw: '1.2.3.5', table: 5000 },
      { dst: '1.2.3.4/32', scope: 200 },
    ],
  };
}

describe('configureIface', () => {
  let ns: Netns;
  let result: Result100;
  beforeEach(() => {
    ns = createNetns('ci');
    ipIn(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
    ipIn(ns, 'link', 'set', 'peer0', 'up');
    // Duplicate address detection would make every IPv6 case wait a second.
    shIn(ns, 'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad');
    result = baseResult();
  });

  it('configures a link with addresses and routes (66)', async () => {
    await configureIface(ns.path, 'eth0', result);
    expect(addrList(ns, '-4')).toEqual(['1.2.3.30/24']);
    const v6 = addrList(ns, '-6');
    expect(v6).toHaveLength(2);
    expect(v6).toContain('abcd:1234:ffff::cdde/64');
    const r4 = v4Routes(ns);
    expect(r4).toContainEqual(expect.objectContaining({ dst: '15.5.6.0/24', gateway: '1.2.3.5' }));
    expect(r4).toContainEqual(expect.objectContaining({ dst: '1.2.3.4', scope: 'site' }));
    expect(v4Routes(ns, 'table', '5000')).toContainEqual(expect.objectContaining({ dst: '15.5.6.0/24', gateway: '1.2.3.5' }));
    expect(v6Routes(ns)).toContainEqual(expect.objectContaining({ dst: '1111:dddd::/80', gateway: 'abcd:1234:ffff::10' }));
  });

  it('adds two routes to one destination as two paths (67)', async () => {
    result.routes = [
      { dst: '15.5.6.8/24', gw: '1.2.3.5' },
      { dst: '15.5.6.8/24', gw: '1.2.3.6' },
    ];
    await configureIface(ns.path, 'eth0', result);
    const gws = v4Routes(ns)
      .filter((r) => r.dst === '15.5.6.0/24')
      .flatMap((r) => (r.nexthops ? r.nexthops.map((n) => n.gateway) : [r.gateway]));
    expect(gws.sort()).toEqual(['1.2.3.5', '1.2.3.6']);
  });

  it('keeps the IPv6 address when the link goes down (68)', async () => {
    await configureIface(ns.path, 'eth0', result);
    ipIn(ns, 'link', 'set', 'eth0', 'down');
    expect(addrList(ns, '-6')).toEqual(['abcd:1234:ffff::cdde/64']);
  });

  it('sends routes without a gateway via the first gateway of their family (69)', async () => {
    result.routes![0]!.gw = undefined;
    result.routes![1]!.gw = undefined;
    result.routes![2]!.gw = undefined;
    await configureIface(ns.path, 'eth0', result);
    expect(v4Routes(ns)).toContainEqual(expect.objectContaining({ dst: '15.5.6.0/24', gateway: '1.2.3.1' }));
    expect(v6Routes(ns)).toContainEqual(expect.objectContaining({ dst: '1111:dddd::/80', gateway: 'abcd:1234:ffff::1' }));
    expect(v4Routes(ns, 'table', '5000')).toContainEqual(expect.objectContaining({ dst: '15.5.6.0/24', gateway: '1.2.3.1' }));
  });

  it('refuses interface indexes that do not name the link, and an empty interface list (70)', async () => {
    const msg = (idx: number) =>
      `failed to add IP addr {Interface:${idx} Address:{IP:1.2.3.30 Mask:ffffff00} Gateway:1.2.3.1} to "eth0": invalid interface index`;
    for (const idx of [1, 2, -1]) {
      result.ips![0]!.interface = idx;
      await expect(configureIface(ns.path, 'eth0', result)).rejects.toThrow(msg(idx));
    }
    await expect(configureIface(ns.path, 'eth0', { ...baseResult(), interfaces: [] })).rejects.toThrow('no interfaces to configure');
    expect(addrList(ns, '-4')).toEqual([]);
  });

  it('reports a link that is not there', async () => {
    const r = baseResult();
    r.interfaces![0]!.name = 'eth9';
    await expect(configureIface(ns.path, 'eth9', r)).rejects.toThrow('failed to lookup "eth9": Link not found');
  });

  it('skips IPs whose interface is unset (71)', async () => {
    result.ips = result.ips!.map(({ interface: _, ...ip }) => ip);
    result.routes = [];
    await configureIface(ns.path, 'eth0', result);
    expect(addrList(ns, '-4')).toEqual([]);
  });

  it('waits for IPv6 duplicate address detection to settle', async () => {
    shIn(ns, 'echo 1 > /proc/sys/net/ipv6/conf/eth0/accept_dad');
    await configureIface(ns.path, 'eth0', result);
    const info = ipJson<{ addr_info: { local: string; tentative?: boolean }[] }[]>(ns, 'addr', 'show', 'dev', 'eth0');
    expect(info[0]!.addr_info.find((a) => a.local === 'abcd:1234:ffff::cdde')?.tentative).toBeUndefined();
  });

  it('reports a route the kernel refuses with the reference wording', async () => {
    result.routes = [{ dst: '10.9.0.0/16', gw: '192.0.2.1' }];
    await expect(configureIface(ns.path, 'eth0', result)).rejects.toThrow(
      /^failed to add route '10\.9\.0\.0\/16 via 192\.0\.2\.1 dev eth0 metric 0 \(Scope: universe, Table: 0\)': /,
    );
  });
});

describe('planConfigureIface', () => {
  it('switches IPv6 on before the first IPv6 address only', () => {
    const plan = planConfigureIface('eth0', baseResult());
    expect(plan.sysctls.map((s) => `${s.mode} ${s.key}=${s.value}`)).toEqual([
      'if-present net/ipv6/conf/lo/disable_ipv6=0',
      'if-present net/ipv6/conf/eth0/disable_ipv6=0',
      'must net/ipv6/conf/eth0/keep_addr_on_down=1',
    ]);
    expect(plan.settle).toBe(true);
    const v4only = baseResult();
    v4only.ips = v4only.ips!.slice(0, 1);
    expect(planConfigureIface('eth0', v4only).sysctls).toEqual([]);
  });

  it('orders addresses, link up, then routes', () => {
    const plan = planConfigureIface('eth0', baseResult());
    expect(plan.cmds.map((c) => c.argv.join(' '))).toEqual([
      'addr add 1.2.3.30/24 brd + dev eth0',
      'addr add abcd:1234:ffff::cdde/64 dev eth0',
      'link set dev eth0 up',
      'route prepend 15.5.6.0/24 via 1.2.3.5 dev eth0',
      'route prepend 1111:dddd::/80 via abcd:1234:ffff::10 dev eth0',
      'route prepend 15.5.6.0/24 via 1.2.3.5 dev eth0 table 5000',
      'route prepend 1.2.3.4/32 via 1.2.3.1 dev eth0 scope 200',
    ]);
  });
});
