import { CniError, ErrorCode } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { type IP, formatIP, ipEqual } from '../../net/ip.ts';
import { firstFree } from './allocator.ts';
import type { IpamConfig } from './config.ts';
import { type Range, type RangeSet, formatRangeSet, isGateway, rangeFor, rangeSetContains } from './range.ts';
import { type NetworkSession, withNetwork } from './session.ts';
import { leaseContent } from './store.ts';

// ADD: one address per range set, in range-set order, under one lock.
// Beyond the reference: a repeated ADD of the same attachment returns the
// leases it already holds, and a failed ADD gives back only what it took.

export interface Allocation {
  ip: IP;
  range: Range;
}

/**
 * Which requested IP each range set gets: the first, in request order, that
 * the set holds. IPs no set takes fail the ADD before the store is touched
 * (the reference finds out after allocating, and picks in random order).
 */
export function assignRequestedIPs(rangeSets: readonly RangeSet[], requested: readonly IP[]): (IP | undefined)[] {
  const pending = [...requested];
  const assigned = rangeSets.map((set) => {
    const i = pending.findIndex((ip) => rangeSetContains(set, ip));
    return i < 0 ? undefined : pending.splice(i, 1)[0];
  });
  if (pending.length > 0) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `failed to allocate all requested IPs: ${pending.map(formatIP).join(' ')}`,
    );
  }
  return assigned;
}

interface SetJob {
  session: NetworkSession;
  set: RangeSet;
  rangeId: number;
  requested: IP | undefined;
  held: IP[];
  containerId: string;
  content: string;
  taken: IP[];
}

/** A bound on reservations that lose to files the index did not know (someone else is writing). */
const MAX_SURPRISES = 64;

function allocateInSet(job: SetJob): Allocation {
  const { session, set, rangeId, requested } = job;
  const existing = job.held.filter((ip) => rangeSetContains(set, ip));
  if (requested) {
    const range = rangeFor(set, requested)!;
    if (existing.some((ip) => ipEqual(ip, requested))) return { ip: requested, range };
    if (existing.length > 0) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `${formatIP(existing[0]!)} has been allocated to ${job.containerId}, duplicate allocation is not allowed`,
      );
    }
    if (isGateway(range, requested)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `requested ip ${formatIP(requested)} is subnet's gateway`);
    }
    if (!session.reserve(requested, job.content)) {
      throw new CniError(
        ErrorCode.TryAgainLater,
        `requested IP address ${formatIP(requested)} is not available in range set ${formatRangeSet(set)}`,
      );
    }
    job.taken.push(requested);
    session.setLastReserved(rangeId, requested);
    return { ip: requested, range };
  }
  if (existing.length > 0) return { ip: existing[0]!, range: rangeFor(set, existing[0]!)! };
  const last = session.lastReserved(rangeId);
  for (let i = 0; i < MAX_SURPRISES; i++) {
    const c = firstFree(set, last, session.index);
    if (!c) {
      throw new CniError(ErrorCode.TryAgainLater, `no IP addresses available in range set: ${formatRangeSet(set)}`);
    }
    if (session.reserve(c.ip, job.content)) {
      job.taken.push(c.ip);
      session.setLastReserved(rangeId, c.ip);
      return c;
    }
  }
  throw new CniError(ErrorCode.TryAgainLater, 'the store keeps changing under the lock; is another program writing it?');
}

export async function addAttachment(conf: IpamConfig, containerId: string, ifName: string): Promise<Allocation[]> {
  const requested = assignRequestedIPs(conf.rangeSets, conf.requestedIPs);
  const out = await withNetwork(conf.dataDir, conf.name, { create: true }, (session) => {
    const held = session.leasesOf(containerId, ifName);
    const taken: IP[] = [];
    const content = leaseContent(containerId, ifName);
    try {
      return conf.rangeSets.map((set, rangeId) => {
        try {
          return allocateInSet({ session, set, rangeId, requested: requested[rangeId], held, containerId, content, taken });
        } catch (e) {
          throw e instanceof CniError ? e.wrap(`failed to allocate for range ${rangeId}`) : e;
        }
      });
    } catch (e) {
      for (const ip of taken) {
        try {
          session.release(ip);
        } catch (releaseErr) {
          log.error('failed to give back an address after a failed ADD', { ip: formatIP(ip), error: (releaseErr as Error).message });
        }
      }
      throw e;
    }
  });
  return out!;
}
