import { liveNetnsInodes, netnsPathState } from '../../os/linux/netns.ts';
import type { AttachmentRecord } from './record.ts';

// Is the pod of an attachment provably gone? Linux: its CNI_NETNS path no
// longer exists, or names another namespace than at ADD (different device
// or inode) and, when it comes to reclaiming, no process lives in the old
// namespace and no bind mount holds it. Anything that cannot be told for
// sure is "unknown", and unknown is never reclaimed.

export type Liveness = { state: 'alive' } | { state: 'dead'; why: string } | { state: 'unknown'; why: string };

const ALIVE: Liveness = { state: 'alive' };

function linuxProbe(netns: string, was: { dev: string; ino: string }): Liveness {
  const s = netnsPathState(netns, { dev: BigInt(was.dev), ino: BigInt(was.ino) });
  if (s === 'same') return ALIVE;
  if (s === 'gone') return { state: 'dead', why: `its network namespace ${netns} is gone` };
  if (s === 'other') return { state: 'dead', why: `${netns} names another network namespace now` };
  return { state: 'unknown', why: `cannot look at ${netns}: ${s.unknown}` };
}

/**
 * The liveness of each record, in order. `thorough` (before a reclaim) also
 * looks for the old Linux namespace held alive elsewhere; without it the
 * check is one stat per record (STATUS, the operator's list).
 */
export async function livenessOf(records: readonly AttachmentRecord[], opts: { thorough: boolean }): Promise<Liveness[]> {
  let held: Set<bigint> | undefined;
  return records.map((r): Liveness => {
    const ns = r.namespace;
    if (ns.kind === 'hns') {
      // The Windows part decides these with one PowerShell plan listing the
      // HNS namespaces (a GUID not among them is gone); until then, never dead.
      return { state: 'unknown', why: 'HNS namespaces are not checked yet' };
    }
    const probe = linuxProbe(r.netns, ns);
    if (probe.state !== 'dead' || !opts.thorough) return probe;
    held ??= liveNetnsInodes();
    if (held.has(BigInt(ns.ino))) return { state: 'unknown', why: `${probe.why}, but its old namespace is still held by a process or a mount` };
    return probe;
  });
}
