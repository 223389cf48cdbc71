import { type NetnsHolder, bootId, liveNetnsHolders, netnsPathState } from '../../os/linux/netns.ts';
import { namespaceAddresses } from '../../os/linux/pod.ts';
import type { AttachmentRecord } from './record.ts';

// Is the pod of an attachment provably gone? Linux: the machine has booted
// since the ADD, or the CNI_NETNS path no longer exists or names another
// namespace than at ADD (different device or inode). Before a reclaim, a
// namespace of the old inode number that still lives somewhere (a process
// in it, a bind mount of it) is looked into: if it still carries one of the
// attachment's addresses, it is the pod's namespace, kept alive, and the
// attachment is not dead. Anything that cannot be told for sure is
// "unknown", and unknown is never reclaimed.

export type Liveness = { state: 'alive' } | { state: 'dead'; why: string } | { state: 'unknown'; why: string };

type LinuxIdentity = Extract<AttachmentRecord['namespace'], { kind: 'linux' }>;

const ALIVE: Liveness = { state: 'alive' };

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
 */
export async function livenessOf(records: readonly AttachmentRecord[], thorough?: Thorough): Promise<Liveness[]> {
  let holders: Map<bigint, NetnsHolder[]> | undefined;
  const out: Liveness[] = [];
  for (const r of records) {
    const ns = r.namespace;
    if (ns.kind === 'hns') {
      // The Windows part decides these with one PowerShell plan listing the
      // HNS namespaces (a GUID not among them is gone); until then, never dead.
      out.push({ state: 'unknown', why: 'HNS namespaces are not checked yet' });
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
