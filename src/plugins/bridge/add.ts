import { delegateAdd, delegateDel } from '../../cni/delegate.ts';
import { CniError, ErrorCode, errorText } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { step } from '../../cni/profile.ts';
import { toResult100 } from '../../cni/result/convert.ts';
import { printResult } from '../../cni/result/encode.ts';
import type { Interface100, Result100 } from '../../cni/result/types.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { anyLeaseIn } from '../../ipam/host-local/queries.ts';
import { type CIDR, networkOf, parseCIDR } from '../../net/ip.ts';
import { configureIface } from '../../os/linux/configure.ts';
import { IpBatchError, type IpCommand, hostBatch, parseJsonLines } from '../../os/linux/iproute.ts';
import { type MasqBackend, defaultMasqBackend, setupIPMasq, teardownIPMasq } from '../../os/linux/ipmasq.ts';
import { isBridge, linkExists, linkMac, linkMtu, macAssignType, operState } from '../../os/linux/links.ts';
import { parseMac, randomMac, randomVethName } from '../../os/linux/mac.ts';
import { checkNetns } from '../../os/linux/netns.ts';
import type { PodSysctl } from '../../os/linux/pod.ts';
import { podBatch } from '../../os/linux/pod.ts';
import { setupSpoofCheck, spoofCheckId, teardownSpoofCheck } from '../../os/linux/spoofcheck.ts';
import { enableForwarding, trySysctl } from '../../os/linux/sysctl.ts';
import { type BridgeConf, loadBridgeConf } from './conf.ts';
import { type Gateways, calcGateways, planGatewayAddrs } from './gateways.ts';
import {
  type VethSpec,
  addrListCommand,
  addrsOfListing,
  bridgeCommands,
  gatewayCommands,
  portCommands,
  vethCreateCommand,
} from './host.ts';
import { checkBridgeName, checkNetnsPath, checkPodIfName } from './names.ts';

// bridge ADD (bridge.go cmdAdd), in as few processes as the work allows:
// one `ip -batch` for the bridge, the veth pair and its port, with IPAM (in
// process when it is weft's host-local) alongside; one nsenter for everything inside
// the pod; a second host batch only when the bridge needs a gateway address;
// one iptables-restore per family for masquerading. Anything that fails after
// the veth exists undoes what this ADD did, and releases the IPAM lease.

const internal = (msg: string) => new CniError(ErrorCode.Internal, msg);
const configError = (msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, msg);

const VETH_NAME_ATTEMPTS = 10;
// The reference's wait for the host port to come up, in milliseconds.
const PORT_UP_WAITS = [0, 50, 500, 1000, 1000];

function preflight(conf: BridgeConf, args: CmdArgs): { podMac: string; backend?: MasqBackend } {
  const isL3 = conf.ipamType !== '';
  if (isL3 && conf.disableContainerInterface) throw configError('cannot use IPAM when DisableContainerInterface flag is set');
  if (conf.hairpinMode && conf.promiscMode) throw configError('cannot set hairpin mode and promiscuous mode at the same time');
  if (conf.vlan !== 0 || conf.hasVlanTrunk) {
    throw new CniError(ErrorCode.UnsupportedField, 'vlan and vlanTrunk are not supported by weft bridge yet');
  }
  checkBridgeName(conf.brName);
  checkPodIfName(args.ifName);
  checkNetnsPath(args.netns);
  let podMac = randomMac();
  if (conf.mac !== undefined) {
    const mac = parseMac(conf.mac);
    if (!mac) throw configError(`failed to make veth pair: address ${conf.mac}: invalid MAC address`);
    podMac = mac;
  }
  let backend: MasqBackend | undefined;
  if (isL3 && conf.ipMasq) {
    const b = conf.ipMasqBackend ?? defaultMasqBackend();
    if (b !== 'iptables' && b !== 'nftables') throw configError(`unknown ipmasq backend ${JSON.stringify(b)}`);
    backend = b;
  }
  try {
    checkNetns(args.netns);
  } catch (e) {
    throw internal(`failed to open netns ${JSON.stringify(args.netns)}: ${errorText(e)}`);
  }
  return { podMac, backend };
}

/** What this ADD has done so far, so a failure can undo exactly that. */
interface Undo {
  hostVeth?: string;
  spoofCheck?: string;
  ipam?: boolean;
  masq?: boolean;
}

async function undo(done: Undo, conf: BridgeConf, args: CmdArgs): Promise<void> {
  const steps: [string, () => Promise<unknown>][] = [];
  if (done.masq) steps.push(['masquerade', () => teardownIPMasq(conf.name, args.ifName, args.containerId)]);
  if (done.spoofCheck) steps.push(['spoof-check', () => teardownSpoofCheck(done.spoofCheck!)]);
  if (done.hostVeth) steps.push(['veth', () => hostBatch([{ argv: ['link', 'del', 'dev', done.hostVeth!] }])]);
  if (done.ipam) steps.push(['IPAM DEL', () => delegateDel(conf.ipamType, args.stdinData, { env: args.env })]);
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (e) {
      log.warn(`ADD cleanup: ${what} failed`, { error: errorText(e) });
    }
  }
}

interface HostSetup {
  veth: VethSpec;
  /** Addresses on the bridge after the port joined (only when asked for). */
  bridgeAddrs: CIDR[];
  /** The bridge's MAC before this ADD touched it (what ensureAddr pins). */
  bridgeMacBefore?: string;
}

/** Bridge, veth pair and port in one batch; a host-side name clash picks another name. */
async function setupHost(conf: BridgeConf, args: CmdArgs, podMac: string, listAddrs: boolean, done: Undo): Promise<HostSetup> {
  const br = conf.brName;
  const existed = linkExists(br);
  if (existed && !isBridge(br)) throw internal(`failed to create bridge ${JSON.stringify(br)}: ${JSON.stringify(br)} already exists but is not a bridge`);
  const createMac = existed ? undefined : randomMac();
  let cmds: IpCommand[] = bridgeCommands({
    name: br,
    mtu: conf.mtu,
    promisc: conf.promiscMode,
    create: createMac ? { mac: createMac } : undefined,
    currentMtu: existed ? linkMtu(br) : undefined,
  });
  const bridgeMacBefore = existed ? linkMac(br) : createMac;
  for (let attempt = 0; attempt < VETH_NAME_ATTEMPTS; attempt++) {
    const veth: VethSpec = {
      hostName: randomVethName(),
      hostMac: randomMac(),
      podName: args.ifName,
      podMac,
      netns: args.netns,
      mtu: conf.mtu,
      bridge: br,
      hairpin: conf.hairpinMode,
      isolated: conf.portIsolation,
    };
    if (linkExists(veth.hostName)) continue;
    const vethIndex = cmds.length;
    const batch = [...cmds, vethCreateCommand(veth), ...portCommands(veth), ...(listAddrs ? [addrListCommand(br)] : [])];
    try {
      const out = await hostBatch(batch, { json: listAddrs });
      done.hostVeth = veth.hostName;
      return { veth, bridgeAddrs: listAddrs ? addrsOfListing(parseJsonLines(out)) : [], bridgeMacBefore };
    } catch (e) {
      if (!(e instanceof IpBatchError)) throw e;
      if (e.index > vethIndex) done.hostVeth = veth.hostName;
      if (e.index !== vethIndex || !/^file exists$/.test(e.detail)) throw e;
      // Either end's name is taken. The bridge lines before it are done now.
      cmds = [];
      if (!linkExists(veth.hostName)) {
        throw internal(`container veth name (${JSON.stringify(veth.podName)}) peer provided (${JSON.stringify(veth.hostName)}) already exists`);
      }
    }
  }
  throw internal('failed to find a unique veth name');
}

/**
 * Wait for every task (so that a cleanup never races one still running),
 * then fail with the first failure in the order given.
 */
async function allOrFirstError(tasks: (Promise<void> | undefined)[]): Promise<void> {
  const settled = await Promise.allSettled(tasks);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
}

async function waitPortUp(hostVeth: string): Promise<void> {
  for (const [i, ms] of PORT_UP_WAITS.entries()) {
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    const state = operState(hostVeth);
    // No sysfs view of this namespace: nothing to wait on that we could see.
    if (state === undefined || state === 'up') return;
    if (i === PORT_UP_WAITS.length - 1) throw internal(`bridge port in error state: ${state}`);
  }
}

/** The bridge's DAD and ARP settings for the pod interface (failures ignored, as in the reference). */
function podSysctls(conf: BridgeConf, ifName: string): PodSysctl[] {
  const v6 = `net/ipv6/conf/${ifName}`;
  const dad: PodSysctl[] = conf.enableDad
    ? [
        { key: `${v6}/enhanced_dad`, value: '1', mode: 'may' },
        { key: `${v6}/accept_dad`, value: '1', mode: 'may' },
      ]
    : [{ key: `${v6}/accept_dad`, value: '0', mode: 'may' }];
  return [...dad, { key: `net/ipv4/conf/${ifName}/arp_notify`, value: '1', mode: 'may' }];
}

/** The gateway addresses on the bridge (ensureAddr), then forwarding for their families. */
async function setupGateways(conf: BridgeConf, host: HostSetup, gws: Gateways): Promise<void> {
  const wrap = 'failed to set bridge addr';
  const store = conf.leaseStore;
  // Without a host-local store to ask, every address counts as used: it stays.
  const inUse = (addr: CIDR) => (store ? anyLeaseIn(store.dataDir, networkOf(addr)) : true);
  const changes = planGatewayAddrs(host.bridgeAddrs, [...gws[4], ...gws[6]], { forceAddress: conf.forceAddress, inUse });
  // Pinning matters only for a bridge whose MAC still follows its ports.
  const pin = macAssignType(conf.brName) === 3 ? undefined : host.bridgeMacBefore;
  const cmds = gatewayCommands(conf.brName, changes, pin, wrap);
  if (cmds.length > 0) await hostBatch(cmds);
  for (const family of [4, 6] as const) {
    if (gws[family].length === 0) continue;
    try {
      enableForwarding(family);
    } catch (e) {
      throw internal(`failed to enable forwarding: ${errorText(e)}`);
    }
  }
}

export async function cmdAdd(args: CmdArgs): Promise<string> {
  const conf = step('config', () => loadBridgeConf(args.stdinData, args.args));
  const { podMac, backend } = preflight(conf, args);
  const isL3 = conf.ipamType !== '';
  const done: Undo = {};
  try {
    // The host batch runs in its own process; IPAM (in process when it is
    // weft's host-local) runs meanwhile. Started in this order, the batch is
    // spawned before IPAM takes the thread. Both settle before any cleanup.
    const hostP = setupHost(conf, args, podMac, isL3 && conf.isGW, done);
    // Recorded before IPAM runs: an IPAM ADD that fails may have leased
    // already, and its DEL releases nothing that is not this container's.
    if (isL3) done.ipam = true;
    const ipamP = isL3 ? delegateAdd(conf.ipamType, args.stdinData, { env: args.env }).then(toResult100) : undefined;
    const [hostS, ipamS] = await Promise.allSettled([hostP, ipamP]);
    if (hostS.status === 'rejected') throw hostS.reason;
    if (ipamS.status === 'rejected') throw ipamS.reason;
    const host = hostS.value;
    const hostVeth = host.veth.hostName;
    // We want to own the routes for these interfaces.
    trySysctl(`net/ipv6/conf/${conf.brName}/accept_ra`, '0');
    trySysctl(`net/ipv6/conf/${hostVeth}/accept_ra`, '0');

    const bridgeIface: Interface100 = { name: conf.brName };
    const hostIface: Interface100 = { name: hostVeth, mac: host.veth.hostMac };
    const result: Result100 = {
      cniVersion: '1.1.0',
      interfaces: [bridgeIface, hostIface, { name: args.ifName, mac: podMac, sandbox: args.netns }],
    };

    if (conf.macSpoofChk) {
      const id = spoofCheckId(args.containerId, args.ifName);
      done.spoofCheck = id;
      await setupSpoofCheck(hostVeth, podMac, id);
    }

    const ipam = ipamS.value;
    if (ipam) {
      result.ips = ipam.ips;
      result.routes = ipam.routes;
      result.dns = ipam.dns;
      if (!result.ips?.length) throw internal('IPAM plugin returned missing IP config');
      // Fills in gateways and the default routes the pod gets, so it comes first.
      const gws = calcGateways(result, conf);
      const addrs = result.ips.map((ip) => parseCIDR(ip.address)).filter((c): c is CIDR => c !== undefined);
      if (backend) done.masq = true;
      // The pod, the bridge's gateway and the masquerade rules do not depend on
      // each other: their processes run side by side.
      await allOrFirstError([
        configureIface(args.netns, args.ifName, result, podSysctls(conf, args.ifName)),
        conf.isGW ? setupGateways(conf, host, gws) : undefined,
        backend ? setupIPMasq(backend, addrs, conf.name, args.ifName, args.containerId) : undefined,
      ]);
    } else if (!conf.disableContainerInterface) {
      await podBatch(args.netns, {
        cmds: [{ argv: ['link', 'set', 'dev', args.ifName, 'up'], onError: (d) => internal(`failed to set ${JSON.stringify(args.ifName)} up: ${d}`) }],
      });
    }

    if (!conf.disableContainerInterface) await step('port up', () => waitPortUp(hostVeth));
    // The bridge's MAC may have followed its first port; report what it is now.
    const brMac = linkMac(conf.brName) ?? host.bridgeMacBefore;
    if (brMac) bridgeIface.mac = brMac;
    hostIface.mac = linkMac(hostVeth) ?? host.veth.hostMac;
    if (conf.dns) result.dns = conf.dns;
    return printResult(result, conf.cniVersion);
  } catch (e) {
    await undo(done, conf, args);
    throw e;
  }
}
