import * as z from 'zod/mini';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { and, exists, fromOutput, isIn, not, onlyIf, ref } from '../../os/windows/plan-language.ts';
import { HnsNetConfSchema, loadHnsConf, networkWaitMs } from '../windows-common/conf.ts';
import { v1NetworkStep } from '../windows-common/command-plans.ts';
import { type Flavour, type Lease, hnsPlugin } from '../windows-common/plugin.ts';
import { loopbackDsrPolicy, outboundNatDestinations, outboundNatExceptions, outboundNatPolicy, providerAddresses, providerAddressPolicy } from '../windows-common/policies.ts';

// win-overlay: endpoints on an Overlay HNS network (flannel vxlan). The MAC
// is derived from the IPv4 address; gateway and provider address come from
// the network as HNS v1 reports it (Subnets[0].GatewayAddress, ManagementIP).
// flanneld creates the network before HNS gives it a ManagementIP: ADD waits
// for it, or every endpoint would lack its ProviderAddress policy and
// cross-node traffic would silently fail.

const OverlayConfSchema = z.extend(HnsNetConfSchema, {
  ipMasq: z.optional(z.boolean()),
  endpointMacPrefix: z.optional(z.string()),
});

type OverlayConf = z.infer<typeof OverlayConfSchema>;

const DEFAULT_MAC_PREFIX = '0E-2A';
const MAC_PREFIX = /^[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}$/;

/** `<prefix>-aa-bb-cc-dd` from the four bytes of the IPv4 address. */
export function overlayMac(prefix: string, lease: Lease): string {
  const v = Number(lease.cidr.ip.value);
  const bytes = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  return [prefix, ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join('-');
}

// Where the v1 view of the network is in the plan's outputs.
const v1NetworkId = (api: 1 | 2): string => (api === 2 ? 'networkV1' : 'network');

const flavour: Flavour<OverlayConf> = {
  type: 'win-overlay',
  load: (stdin) => loadHnsConf(OverlayConfSchema, stdin),
  validate(conf) {
    const prefix = conf.endpointMacPrefix;
    if (prefix && !MAC_PREFIX.test(prefix)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `endpointMacPrefix [${prefix}] is invalid, value must be of the format xx-xx`);
    }
  },
  networkTypes: ['Overlay'],
  networkTypeIgnoresCase: () => true,
  notFound: (network) => `network ${network} not found`,
  wrongType: (network, type) => `network ${network} is of an unexpected type: ${type}`,
  ipamRequired: (api) => api === 1,
  checkLease(lease, api) {
    if (lease.cidr.ip.family !== 4) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        api === 2 ? 'IPAM plugin return is missing valid IP Address' : "win-overlay doesn't support IPv6 now",
      );
    }
  },
  networkSteps(conf, api, wait) {
    const v1 = v1NetworkId(api);
    const subnet = (key: string) => ref(v1, 'Subnets', 0, key);
    const managed = exists(ref(v1, 'ManagementIP'));
    return {
      steps: [
        ...(api === 2 ? [v1NetworkStep(v1, conf.name, { ...wait, until: managed })] : []),
        { id: 'networkSubnet', op: 'test', cond: and(exists(subnet('AddressPrefix')), exists(subnet('GatewayAddress'))), require: true },
        { id: 'networkManaged', op: 'test', cond: managed, require: true },
      ],
      stops: {
        networkV1: `network ${conf.name} not found through the HNS v1 API`,
        networkSubnet: `network ${conf.name} has no subnet with an address prefix and a gateway yet`,
        networkManaged:
          `network ${conf.name} has no ManagementIP (the endpoints' provider address) after ${networkWaitMs(conf) / 1000}s: ` +
          'flanneld has not finished setting up the node',
      },
      ...(api === 1 ? { networkUntil: managed } : {}),
    };
  },
  endpoint({ conf, api, lease, dsr, userPolicies }) {
    const v1 = v1NetworkId(api);
    const generated: unknown[] = [];
    const seen = () => [...userPolicies, ...generated];
    const addDsr = () => {
      if (dsr && lease && !outboundNatDestinations(seen(), api).includes(lease.ip)) {
        generated.push(onlyIf(dsr, loopbackDsrPolicy(lease.ip, api)));
      }
    };
    // The reference orders these differently per API; so does weft.
    if (api === 2) addDsr();
    const pa = ref(v1, 'ManagementIP');
    generated.push(onlyIf(and(exists(pa), not(isIn(pa, providerAddresses(seen(), api)))), providerAddressPolicy(fromOutput(pa), api)));
    if (conf.ipMasq) {
      const prefix = ref(v1, 'Subnets', 0, 'AddressPrefix');
      generated.push(onlyIf(not(isIn(prefix, outboundNatExceptions(seen(), api))), outboundNatPolicy(fromOutput(prefix), api)));
    }
    if (api === 1) addDsr();
    return {
      gateway: fromOutput(ref(v1, 'Subnets', 0, 'GatewayAddress')),
      mac: lease ? overlayMac(conf.endpointMacPrefix || DEFAULT_MAC_PREFIX, lease) : undefined,
      generated,
    };
  },
};

export const plugin = hnsPlugin(flavour, 'CNI win-overlay plugin (weft): HNS Overlay endpoints');
