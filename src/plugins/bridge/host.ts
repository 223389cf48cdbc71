import { CniError, ErrorCode } from '../../cni/errors.ts';
import { type CIDR, formatCIDR, formatIP, parseCIDR } from '../../net/ip.ts';
import type { IpCommand } from '../../os/linux/iproute.ts';
import type { AddrChange } from './gateways.ts';

// The host side of an ADD as iproute2 batch lines: the bridge (created only
// when missing; an existing one keeps its settings but its MTU, which follows
// the config, as flannel's MTU may have changed), the veth pair created in
// one step with its pod end already named and inside the pod, the port
// settings, and the bridge's gateway addresses.

const internal = (msg: string) => new CniError(ErrorCode.Internal, msg);
// The kernel says EEXIST as "File exists" or, for addresses, with an extack text.
const EEXIST = /^file exists$|already assigned/i;

export interface BridgeSpec {
  name: string;
  mtu: number;
  promisc: boolean;
  /** Create it (with this MAC, which also keeps it from following its ports). */
  create?: { mac: string };
  /** The MTU of the bridge that exists. */
  currentMtu?: number;
}

export function bridgeCommands(br: BridgeSpec): IpCommand[] {
  const fail = (inner: string) => internal(`failed to create bridge ${JSON.stringify(br.name)}: ${inner}`);
  const cmds: IpCommand[] = [];
  if (br.create) {
    const mtu = br.mtu > 0 ? ['mtu', String(br.mtu)] : [];
    cmds.push({
      argv: ['link', 'add', 'name', br.name, ...mtu, 'address', br.create.mac, 'type', 'bridge'],
      // Another ADD made it first: use it as it is, as with any existing bridge.
      tolerate: EEXIST,
      onError: (d) => fail(`could not add ${JSON.stringify(br.name)}: ${d}`),
    });
  }
  if (!br.create && br.mtu > 0 && br.currentMtu !== br.mtu) {
    cmds.push({
      argv: ['link', 'set', 'dev', br.name, 'mtu', String(br.mtu)],
      onError: (d) => internal(`failed to set the MTU of bridge ${JSON.stringify(br.name)} to ${br.mtu}: ${d}`),
    });
  }
  if (br.promisc) {
    cmds.push({
      argv: ['link', 'set', 'dev', br.name, 'promisc', 'on'],
      onError: (d) => fail(`could not set promiscuous mode on ${JSON.stringify(br.name)}: ${d}`),
    });
  }
  cmds.push({ argv: ['link', 'set', 'dev', br.name, 'up'], onError: (d) => fail(d) });
  return cmds;
}

export interface VethSpec {
  hostName: string;
  hostMac: string;
  podName: string;
  podMac: string;
  netns: string;
  mtu: number;
  bridge: string;
  hairpin: boolean;
  isolated: boolean;
}

/** The line that creates the pair; its failure is interpreted by the caller. */
export function vethCreateCommand(v: VethSpec): IpCommand {
  const mtu = v.mtu > 0 ? ['mtu', String(v.mtu)] : [];
  return {
    argv: ['link', 'add', 'name', v.hostName, ...mtu, 'address', v.hostMac, 'type', 'veth',
      'peer', 'name', v.podName, ...mtu, 'address', v.podMac, 'netns', v.netns],
    onError: (d) => internal(`failed to make veth pair: ${d}`),
  };
}

export function portCommands(v: VethSpec): IpCommand[] {
  const cmds: IpCommand[] = [
    {
      argv: ['link', 'set', 'dev', v.hostName, 'master', v.bridge, 'up'],
      onError: (d) => internal(`failed to connect ${JSON.stringify(v.hostName)} to bridge ${v.bridge}: ${d}`),
    },
  ];
  // A new port starts with both off; only "on" needs a change.
  if (v.hairpin) {
    cmds.push({
      argv: ['link', 'set', 'dev', v.hostName, 'type', 'bridge_slave', 'hairpin', 'on'],
      onError: (d) => internal(`failed to setup hairpin mode for ${v.hostName}: ${d}`),
    });
  }
  if (v.isolated) {
    cmds.push({
      argv: ['link', 'set', 'dev', v.hostName, 'type', 'bridge_slave', 'isolated', 'on'],
      onError: (d) => internal(`failed to set isolated on for ${v.hostName}: ${d}`),
    });
  }
  return cmds;
}

/** `addr show dev <link>` as JSON: what ensureAddr compares against. */
export const addrListCommand = (link: string): IpCommand => ({ argv: ['addr', 'show', 'dev', link] });

interface AddrInfoJson {
  family?: string;
  local?: string;
  prefixlen?: number;
}

/** The addresses of `ip -j addr show dev X` output, in kernel order. */
export function addrsOfListing(items: readonly unknown[]): CIDR[] {
  const out: CIDR[] = [];
  for (const item of items) {
    for (const a of ((item as { addr_info?: AddrInfoJson[] }).addr_info ?? [])) {
      if ((a.family === 'inet' || a.family === 'inet6') && a.local !== undefined && a.prefixlen !== undefined) {
        const c = parseCIDR(`${a.local}/${a.prefixlen}`);
        if (c) out.push(c);
      }
    }
  }
  return out;
}

// IPv4 gets its broadcast address (as Go's netlink adds it). An IPv6 gateway
// skips duplicate address detection: IPAM owns the address, and a tentative
// gateway would leave a new pod without a router for a second.
const cidrWords = (c: CIDR): string[] => [
  `${formatIP(c.ip)}/${c.prefix}`,
  ...(c.ip.family === 4 ? (c.prefix < 31 ? ['brd', '+'] : []) : ['nodad']),
];

/**
 * ensureAddr's changes as batch lines. Concurrent ADDs may race: an address
 * someone else just added or removed is what we wanted anyway. `pinMac` keeps
 * an existing bridge's MAC from following its ports once it has an address.
 */
export function gatewayCommands(link: string, changes: readonly AddrChange[], pinMac: string | undefined, wrap: string): IpCommand[] {
  const fail = (inner: string) => internal(`${wrap}: ${inner}`);
  const cmds: IpCommand[] = [];
  let added = false;
  for (const ch of changes) {
    for (const r of ch.remove) {
      cmds.push({
        argv: ['addr', 'del', `${formatIP(r.ip)}/${r.prefix}`, 'dev', link],
        tolerate: /^cannot assign requested address$/,
        onError: (d) => fail(`could not remove IP address from ${JSON.stringify(link)}: ${d}`),
      });
    }
    if (ch.add) {
      const want = ch.add;
      cmds.push({
        argv: ['addr', 'add', ...cidrWords(want), 'dev', link],
        tolerate: EEXIST,
        onError: (d) => fail(`could not add IP address ${formatCIDR(want)} to ${JSON.stringify(link)}: ${d}`),
      });
      added = true;
    }
  }
  if (added && pinMac) {
    cmds.push({ argv: ['link', 'set', 'dev', link, 'address', pinMac], onError: (d) => fail(`could not set bridge's mac: ${d}`) });
  }
  return cmds;
}
