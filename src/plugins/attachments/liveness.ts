import { type NetnsHolder, bootId, liveNetnsHolders, netnsPathState } from '../../os/linux/netns.ts';
import { namespaceAddresses } from '../../os/linux/pod.ts';
import type { HnsListingOrWhy } from './hns-listing.ts';
import type { AttachmentRecord } from './record.ts';

// Is the pod of an attachment provably gone? Linux: the machine has booted
// since the ADD, or the CNI_NETNS path no longer exists or names another
// namespace than at ADD (different device or inode). Before a reclaim, a
// namespace of the old inode number that still lives somewhere (a process
// in it, a bind mount of it) is looked into: if it still carries one of the
// attachment's addresses, it is the pod's namespace, kept alive, and the
// attachment is not dead. Windows: a listing of HNS namespaces taken after
// the record was written lacks the record's namespace GUID (hns-listing.ts);
// GUIDs are never handed out again, so such a pod cannot come back. Anything
// that cannot be told for sure is "unknown", and unknown is never reclaimed.

export type Liveness = { state: 'alive' } | { state: 'dead'; why: string } | { state: 'unknown'; why: string };

type LinuxIdentity = Extract<AttachmentRecord['namespace'], { kind: 'linux' }>;

const ALIVE: Liveness = { state: 'alive' };

const HNS_NOT_LOOKED_AT: Liveness = { state: 'unknown', why: 'its HNS namespace is not looked at here' };

function hnsProbe(id: string, listing: HnsListingOrWhy): Liveness {
  if ('unknown' in listing) return { state: 'unknown', why: listing.unknown };
  const ns = id.toLowerCase();
  if (listing.namespaces.has(ns)) return ALIVE;
  if (!listing.covered.has(ns)) return { state: 'unknown', why: 'added after the last listing of HNS namespaces' };
  return { state: 'dead', why: `its HNS namespace ${ns} is gone` };
}

function linuxProbe(netns: string, was: LinuxIdentity): Liveness {
  const now = bootId();
  if (was.boot !== '' && now !== '' && was.boot !== now) return { state: 'dead', why: 'the node has restarted since the pod was added' };
  const s = netnsPathState(netns, { dev: BigInt(was.dev), ino: BigInt(was.ino) });
  if (s === 'same') return ALIVE;
  if (s === 'gone') return { state: 'dead', why: `its network namespace ${netns} is gone` };
  if (s === 'other') return { state: 'dead', why: `${netns} names another network namespace now` };
  return { state: 'unknown', why: `cannot look at ${netns}: ${s.unknown}` };
}

/** A namespace of the old inode number lives: is it the pod's (one of its addresses is there)? */
async function stillHeld(probe: Liveness & { state: 'dead' }, holders: readonly NetnsHolder[], addresses: readonly string[]): Promise<Liveness> {
  // Nothing leased any more: nothing that could have two owners.
  if (addresses.length === 0) return probe;
  for (const holder of holders) {
    // A mount hidden under another one cannot be entered; another holder may do.
    const inside = await namespaceAddresses(holder.path);
    if (!inside) continue;
    const kept = addresses.find((a) => inside.has(a));
    return kept ? { state: 'unknown', why: `${probe.why}, but ${holder.what} still holds its old namespace, with ${kept} in it` } : probe;
  }
  return { state: 'unknown', why: `${probe.why}, and ${holders[0]!.what} holds a namespace of the same number that cannot be looked into` };
}

export interface Thorough {
  /** The addresses the attachment holds (its leases). */
  addressesOf: (r: AttachmentRecord) => string[];
}

/**
 * The liveness of each record, in order. Without `thorough` (STATUS, the
 * operator's list) it is one stat per record; with it (before a reclaim) a
 * dead-looking Linux pod is also looked for where its namespace could live on.
 * HNS records are judged by the listing `hns` gives (asked once, and only
 * when there is one: the Linux plugins never pay for it).
 */
export async function livenessOf(records: readonly AttachmentRecord[], thorough?: Thorough, hns?: () => Promise<HnsListingOrWhy>): Promise<Liveness[]> {
  let holders: Map<bigint, NetnsHolder[]> | undefined;
  let listing: HnsListingOrWhy | undefined;
  const out: Liveness[] = [];
  for (const r of records) {
    const ns = r.namespace;
    if (ns.kind === 'hns') {
      if (hns) listing ??= await hns();
      out.push(listing ? hnsProbe(ns.id, listing) : HNS_NOT_LOOKED_AT);
      continue;
    }
    const probe = linuxProbe(r.netns, ns);
    // After a restart no namespace of before can live on.
    if (probe.state !== 'dead' || !thorough || ns.boot !== bootId()) {
      out.push(probe);
      continue;
    }
    holders ??= liveNetnsHolders();
    const held = holders.get(BigInt(ns.ino));
    out.push(held ? await stillHeld(probe, held, thorough.addressesOf(r)) : probe);
  }
  return out;
}
