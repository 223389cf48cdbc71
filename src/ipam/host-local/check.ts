import { CniError, ErrorCode } from '../../cni/errors.ts';
import { toResult100 } from '../../cni/result/convert.ts';
import type { AnyResult } from '../../cni/result/types.ts';
import { type IP, formatIP, ipEqual, parseCIDR } from '../../net/ip.ts';
import type { IpamConfig } from './config.ts';
import { rangeSetContains } from './range.ts';
import { withNetwork } from './session.ts';

// CHECK: the attachment still holds a lease (the reference's test), and,
// when the runtime passes the previous result, its addresses in this
// network's ranges are exactly the attachment's leases.

const notFound = (containerId: string) =>
  new CniError(ErrorCode.Internal, `host-local: Failed to find address added by container ${containerId}`);

export async function checkAttachment(
  conf: IpamConfig,
  containerId: string,
  ifName: string,
  prevResult: AnyResult | undefined,
): Promise<void> {
  const held = await withNetwork(conf.dataDir, conf.name, { create: false }, (s) => s.leasesOf(containerId, ifName));
  if (!held || held.length === 0) throw notFound(containerId);
  if (!prevResult) return;
  const inRanges = (ip: IP) => conf.rangeSets.some((set) => rangeSetContains(set, ip));
  const expected = (toResult100(prevResult).ips ?? [])
    .map((c) => parseCIDR(c.address)?.ip)
    .filter((ip): ip is IP => ip !== undefined && inRanges(ip));
  for (const ip of expected) {
    if (!held.some((h) => ipEqual(h, ip))) {
      throw new CniError(
        ErrorCode.Internal,
        `host-local: address ${formatIP(ip)} of prevResult is not leased to container ${containerId} interface ${ifName}`,
      );
    }
  }
  for (const ip of held.filter(inRanges)) {
    if (!expected.some((e) => ipEqual(e, ip))) {
      throw new CniError(
        ErrorCode.Internal,
        `host-local: lease ${formatIP(ip)} of container ${containerId} interface ${ifName} is missing from prevResult`,
      );
    }
  }
}
