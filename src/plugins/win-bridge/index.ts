import * as z from 'zod/mini';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { type CIDR, type IP, formatCIDR, formatIP, ipEqual, networkOf, parseCIDR } from '../../net/ip.ts';
import { eq, exists, not, onlyIf, or, ref } from '../../os/windows/plan-language.ts';
import { hnsApi } from '../windows-common/hns-api.ts';
import { HnsNetConfSchema, loadHnsConf, networkWaitMs } from '../windows-common/conf.ts';
import { type Flavour, hnsPlugin } from '../windows-common/plugin.ts';
import { loopbackDsrPolicy, outboundNatDestinations, outboundNatExceptions, outboundNatPolicy, portMappingPolicies } from '../windows-common/policies.ts';

// win-bridge: endpoints on an L2Bridge (flannel host-gw) or L2Tunnel HNS
// network. The pod gateway is the subnet's .2, the host's bridge endpoint,
// which flanneld creates after the network: on L2Bridge, ADD waits for it.

const BridgeConfSchema = z.extend(HnsNetConfSchema, {
  ipMasqNetwork: z.optional(z.string()),
});

type BridgeConf = z.infer<typeof BridgeConfSchema>;

/** The address masked to its subnet, plus 2 in the last byte (the reference's l2bridge gateway). */
export function bridgeGateway(lease: CIDR): IP {
  const base = networkOf(lease).ip;
  return { family: base.family, value: (base.value & ~0xffn) | (((base.value & 0xffn) + 2n) & 0xffn) };
}

const flavour: Flavour<BridgeConf> = {
  type: 'win-bridge',
  load: (stdin) => loadHnsConf(BridgeConfSchema, stdin),
  validate(conf) {
    if (conf.ipMasqNetwork && !parseCIDR(conf.ipMasqNetwork)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `ipMasqNetwork: invalid CIDR address: ${conf.ipMasqNetwork}`);
    }
  },
  networkTypes: ['L2Bridge', 'L2Tunnel'],
  networkTypeIgnoresCase: (api) => api === 1,
  notFound: (network) => `network ${network} is not found`,
  wrongType: (network, type) => `network ${network} is of unexpected type: ${type}`,
  ipamRequired: () => false,
  checkLease(lease) {
    // The host's bridge endpoint holds .2: HNS would refuse the pod ("The object already exists").
    if (ipEqual(bridgeGateway(lease.cidr), lease.cidr.ip)) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `IPAM gave ${lease.ip}, the l2bridge gateway of ${formatCIDR(networkOf(lease.cidr))} (subnet + 2, the host's bridge endpoint): ` +
          'start the IPAM range after it (host-local: rangeStart)',
      );
    }
  },
  networkSteps(conf, api, wait) {
    // flanneld's name for it (hostgw_windows.go): <network>_ep.
    const hostEndpoint = `${conf.name}_ep`;
    const l2bridge = eq(ref('network', ...hnsApi(api).paths.networkType), 'L2Bridge', true);
    return {
      steps: [
        { ...hnsApi(api).findEndpoint('hostEndpoint', hostEndpoint, wait), when: l2bridge },
        { id: 'hostEndpointReady', op: 'test', cond: or(not(l2bridge), exists(ref('hostEndpoint'))), require: true },
      ],
      stops: {
        hostEndpointReady:
          `network ${conf.name} has no host endpoint ${hostEndpoint} (the pods' gateway) after ${networkWaitMs(conf) / 1000}s: ` +
          'flanneld has not finished setting up the node',
      },
    };
  },
  endpoint({ conf, api, lease, dsr, userPolicies }) {
    const generated: unknown[] = [];
    const seen = () => [...userPolicies, ...generated];
    const masq = conf.ipMasqNetwork;
    if (masq && !outboundNatExceptions(seen(), api).includes(masq)) generated.push(outboundNatPolicy(masq, api));
    generated.push(...portMappingPolicies(conf.runtimeConfig?.portMappings ?? [], api));
    if (dsr && lease && !outboundNatDestinations(seen(), api).includes(lease.ip)) {
      generated.push(onlyIf(dsr, loopbackDsrPolicy(lease.ip, api)));
    }
    return { gateway: lease ? formatIP(bridgeGateway(lease.cidr)) : undefined, generated };
  },
};

export const plugin = hnsPlugin(flavour, 'CNI win-bridge plugin (weft): HNS L2Bridge endpoints');
