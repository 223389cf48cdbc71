import { describe, expect, it } from 'vitest';
import { parseCIDR } from '../../../src/net/ip.ts';
import { addrsOfListing, bridgeCommands, gatewayCommands, portCommands, vethCreateCommand } from '../../../src/plugins/bridge/host.ts';

// The host-side batch lines of an ADD.

const lines = (cmds: { argv: readonly string[] }[]) => cmds.map((c) => c.argv.join(' '));
const cidr = (s: string) => parseCIDR(s)!;

const veth = {
  hostName: 'veth01234567',
  hostMac: '02:00:00:00:00:01',
  podName: 'eth0',
  podMac: '02:00:00:00:00:02',
  netns: '/var/run/netns/pod',
  mtu: 1400,
  bridge: 'cni0',
  hairpin: false,
  isolated: false,
};

describe('host batch lines', () => {
  it('creates a missing bridge with its MAC and MTU, tolerating one created meanwhile', () => {
    const cmds = bridgeCommands({ name: 'cni0', mtu: 1450, promisc: true, create: { mac: '02:00:00:00:00:aa' } });
    expect(lines(cmds)).toEqual([
      'link add name cni0 mtu 1450 address 02:00:00:00:00:aa type bridge',
      'link set dev cni0 promisc on',
      'link set dev cni0 up',
    ]);
    expect(cmds[0]!.tolerate?.test('file exists')).toBe(true);
    expect(cmds[0]!.onError?.('operation not permitted').message).toBe('failed to create bridge "cni0": could not add "cni0": operation not permitted');
    expect(lines(bridgeCommands({ name: 'cni0', mtu: 0, promisc: false }))).toEqual(['link set dev cni0 up']);
  });

  it('brings an existing bridge to the configured MTU (flannel\'s may have changed), and leaves it alone without one', () => {
    const cmds = bridgeCommands({ name: 'cni0', mtu: 1400, promisc: false, currentMtu: 1450 });
    expect(lines(cmds)).toEqual(['link set dev cni0 mtu 1400', 'link set dev cni0 up']);
    expect(cmds[0]!.onError?.('invalid argument').message).toBe('failed to set the MTU of bridge "cni0" to 1400: invalid argument');
    expect(lines(bridgeCommands({ name: 'cni0', mtu: 1400, promisc: false, currentMtu: 1400 }))).toEqual(['link set dev cni0 up']);
    expect(lines(bridgeCommands({ name: 'cni0', mtu: 0, promisc: false, currentMtu: 1450 }))).toEqual(['link set dev cni0 up']);
  });

  it('creates the pair with the pod end named and placed in one line, then joins the bridge', () => {
    expect(lines([vethCreateCommand(veth)])).toEqual([
      'link add name veth01234567 mtu 1400 address 02:00:00:00:00:01 type veth peer name eth0 mtu 1400 address 02:00:00:00:00:02 netns /var/run/netns/pod',
    ]);
    expect(lines(portCommands({ ...veth, hairpin: true, isolated: true }))).toEqual([
      'link set dev veth01234567 master cni0 up',
      'link set dev veth01234567 type bridge_slave hairpin on',
      'link set dev veth01234567 type bridge_slave isolated on',
    ]);
  });

  it('turns ensureAddr changes into lines that tolerate racing ADDs, pinning the MAC after an add', () => {
    const cmds = gatewayCommands('cni0', [{ remove: [cidr('10.9.0.1/16')], add: cidr('10.1.2.1/24') }, { remove: [], add: cidr('fd00::1/64') }], '02:00:00:00:00:aa', 'failed to set bridge addr');
    expect(lines(cmds)).toEqual([
      'addr del 10.9.0.1/16 dev cni0',
      'addr add 10.1.2.1/24 brd + dev cni0',
      'addr add fd00::1/64 nodad dev cni0',
      'link set dev cni0 address 02:00:00:00:00:aa',
    ]);
    expect(cmds[0]!.tolerate?.test('cannot assign requested address')).toBe(true);
    expect(cmds[1]!.tolerate?.test('ipv4: Address already assigned.')).toBe(true);
    expect(cmds[1]!.onError?.('permission denied').message).toBe(
      'failed to set bridge addr: could not add IP address 10.1.2.1/24 to "cni0": permission denied',
    );
    expect(gatewayCommands('cni0', [{ remove: [] }], '02:00:00:00:00:aa', 'x')).toEqual([]);
  });

  it('reads addresses from ip -j addr show', () => {
    const listing = [{ ifname: 'cni0', addr_info: [{ family: 'inet', local: '10.1.2.1', prefixlen: 24 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }] }];
    expect(addrsOfListing(listing).map((c) => `${c.ip.family}:${c.prefix}`)).toEqual(['4:24', '6:64']);
  });
});
