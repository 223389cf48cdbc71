import * as z from 'zod/mini';
import { loadArgs, parseArgString } from '../../cni/args.ts';
import { NetConfSchema, loadConf } from '../../cni/conf.ts';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import type { DNS } from '../../cni/result/types.ts';
import { type AttachmentSite, hostLocalSite } from '../attachments/store.ts';

// The bridge plugin's configuration: the reference's fields, defaults and
// messages (plugins/main/bridge/bridge.go loadNetConf, collectVlanTrunk).

const VlanTrunkSchema = z.looseObject({
  minID: z.optional(z.int()),
  maxID: z.optional(z.int()),
  id: z.optional(z.int()),
});

export const BridgeConfSchema = z.extend(NetConfSchema, {
  bridge: z.optional(z.string()),
  isGateway: z.optional(z.boolean()),
  isDefaultGateway: z.optional(z.boolean()),
  forceAddress: z.optional(z.boolean()),
  ipMasq: z.optional(z.boolean()),
  ipMasqBackend: z.optional(z.string()),
  mtu: z.optional(z.int()),
  hairpinMode: z.optional(z.boolean()),
  promiscMode: z.optional(z.boolean()),
  vlan: z.optional(z.int()),
  vlanTrunk: z.optional(z.array(VlanTrunkSchema)),
  preserveDefaultVlan: z.optional(z.boolean()),
  macspoofchk: z.optional(z.boolean()),
  enabledad: z.optional(z.boolean()),
  disableContainerInterface: z.optional(z.boolean()),
  portIsolation: z.optional(z.boolean()),
  // The bridge reads only `mac` from these; other keys are not its business.
  args: z.optional(z.looseObject({ cni: z.optional(z.looseObject({ mac: z.optional(z.string()) })) })),
  runtimeConfig: z.optional(z.looseObject({ mac: z.optional(z.string()) })),
});

export type VlanTrunk = z.infer<typeof VlanTrunkSchema>;

export const DEFAULT_BRIDGE = 'cni0';

export interface BridgeConf {
  name: string;
  cniVersion: string;
  brName: string;
  /** isGateway, forced on by isDefaultGateway. */
  isGW: boolean;
  isDefaultGW: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  ipMasqBackend?: string;
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  vlan: number;
  /** Trunk VLAN IDs, sorted and unique; undefined when vlanTrunk is absent or names none. */
  vlans?: number[];
  /** vlanTrunk was given at all (even as []): this turns on VLAN filtering. */
  hasVlanTrunk: boolean;
  preserveDefaultVlan: boolean;
  macSpoofChk: boolean;
  enableDad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** '' means L2 only. */
  ipamType: string;
  /** The store IPAM leases from, when it is host-local (its leases tell which gateway addresses pods use). */
  leaseStore?: AttachmentSite;
  /** The config's dns, when any of its fields is set: it replaces IPAM's. */
  dns?: DNS;
  /** The container MAC asked for: runtimeConfig.mac, else args.cni.mac, else CNI_ARGS MAC. */
  mac?: string;
  prevResult?: Record<string, unknown>;
}

const configError = (msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, msg);

const VLAN_MAX = 4094;
const validVid = (v: number) => v > 0 && v <= VLAN_MAX;

/** collectVlanTrunk: the trunk's VLAN IDs, sorted and unique; undefined for none. */
export function collectVlanTrunk(trunk: readonly VlanTrunk[] | undefined): number[] | undefined {
  if (trunk === undefined) return undefined;
  const ids = new Set<number>();
  for (const item of trunk) {
    const { minID, maxID, id } = item;
    if (minID !== undefined && maxID !== undefined) {
      if (!validVid(minID)) throw configError('incorrect trunk minID parameter');
      if (!validVid(maxID)) throw configError('incorrect trunk maxID parameter');
      if (maxID < minID) throw configError('minID is greater than maxID in trunk parameter');
      for (let v = minID; v <= maxID; v++) ids.add(v);
    } else if (maxID !== undefined) {
      throw configError('minID and maxID should be configured simultaneously, minID is missing');
    } else if (minID !== undefined) {
      throw configError('minID and maxID should be configured simultaneously, maxID is missing');
    }
    if (id !== undefined) {
      if (!validVid(id)) throw configError('incorrect trunk id parameter');
      ids.add(id);
    }
  }
  return ids.size === 0 ? undefined : [...ids].sort((a, b) => a - b);
}

/** types.DNS counts as set when any field is present (an empty list counts). */
function dnsIfSet(dns: DNS | undefined): DNS | undefined {
  if (!dns) return undefined;
  const set = dns.nameservers !== undefined || dns.search !== undefined || dns.options !== undefined || !!dns.domain;
  return set ? dns : undefined;
}

export function loadBridgeConf(stdin: Buffer | string, cniArgs: string): BridgeConf {
  const c = loadConf(BridgeConfSchema, stdin);
  const vlan = c.vlan ?? 0;
  if (vlan < 0 || vlan > VLAN_MAX) throw configError(`invalid VLAN ID ${vlan} (must be between 0 and ${VLAN_MAX})`);
  const vlans = collectVlanTrunk(c.vlanTrunk);
  let mac = cniArgs === '' ? undefined : loadArgs(cniArgs, { MAC: parseArgString }).MAC || undefined;
  if (c.args?.cni?.mac) mac = c.args.cni.mac;
  if (c.runtimeConfig?.mac) mac = c.runtimeConfig.mac;
  const isDefaultGW = c.isDefaultGateway ?? false;
  return {
    name: c.name,
    cniVersion: c.cniVersion ?? '',
    brName: c.bridge ?? DEFAULT_BRIDGE,
    isGW: (c.isGateway ?? false) || isDefaultGW,
    isDefaultGW,
    forceAddress: c.forceAddress ?? false,
    ipMasq: c.ipMasq ?? false,
    ipMasqBackend: c.ipMasqBackend,
    mtu: c.mtu ?? 0,
    hairpinMode: c.hairpinMode ?? false,
    promiscMode: c.promiscMode ?? false,
    vlan,
    vlans,
    hasVlanTrunk: c.vlanTrunk !== undefined,
    preserveDefaultVlan: c.preserveDefaultVlan ?? false,
    macSpoofChk: c.macspoofchk ?? false,
    enableDad: c.enabledad ?? false,
    disableContainerInterface: c.disableContainerInterface ?? false,
    portIsolation: c.portIsolation ?? false,
    ipamType: c.ipam?.type ?? '',
    leaseStore: hostLocalSite(c.name, c.ipam),
    dns: dnsIfSet(c.dns),
    mac,
    prevResult: c.prevResult,
  };
}
