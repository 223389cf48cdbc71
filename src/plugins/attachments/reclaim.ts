import { runtimeDel } from '../../cni/delegate.ts';
import type { Env } from '../../cni/env.ts';
import { errorText } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { formatIP } from '../../net/ip.ts';
import type { NetworkLock } from '../../ipam/host-local/lock.ts';
import { leasesByOwner } from '../../ipam/host-local/queries.ts';
import { leaseContent, legacyLeaseContent } from '../../ipam/host-local/store.ts';
import { type Liveness, livenessOf } from './liveness.ts';
import type { AttachmentRecord } from './record.ts';
import { type AttachmentSite, type StoredRecord, listRecords, lockRecord, readRecord, tryLockRecord } from './store.ts';

// Reclaiming: every attachment of a store whose pod is provably gone gets
// the full DEL the runtime never sent (leases, saved config, masquerade
// rules; the veth went with the namespace), run as the runtime would run
// it: the recorded plugin type, config and CNI_* values. Each one is taken
// under its record's lock and checked once more there, so an attachment
// that an ADD has taken over (same container and interface, a new
// namespace) in the meantime is left alone; one whose lock is held is being
// reclaimed by someone else, or added, and is left alone too.

export interface Reclaimed {
  record: AttachmentRecord;
  why: string;
  addresses: string[];
}

export interface SweepOutcome {
  reclaimed: Reclaimed[];
  /** Dead attachments someone else held the lock of (reclaiming them, most likely), waited for. */
  busy: number;
  /** Attachments that could not be proven alive or dead, and why: never reclaimed. */
  undecided: { record: AttachmentRecord; why: string }[];
  failed: { record: AttachmentRecord; error: string }[];
}

type Readable = Extract<StoredRecord, { record: AttachmentRecord }>;

const readable = (s: StoredRecord): s is Readable => 'record' in s;

/** Tell the operator: in weft's log when there is one, else on stderr (which runtimes log). */
function notice(msg: string, fields: Record<string, unknown>): void {
  if (log.enabled) log.warn(msg, fields);
  else process.stderr.write(`weft: ${msg} ${Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}\n`);
}

/** The environment of the DEL that finishes `r`. */
function delEnv(env: Env, r: AttachmentRecord): Env {
  return {
    ...env,
    CNI_CONTAINERID: r.containerId,
    CNI_IFNAME: r.ifName,
    // A Linux path may name another pod's namespace by now; the DEL must
    // not go in there. The old namespace is gone, and the pod's end of the
    // veth with it: what is left is found by container ID.
    CNI_NETNS: r.namespace.kind === 'linux' ? '' : r.netns,
    CNI_ARGS: r.cniArgs,
  };
}

/** The records of `site` with their liveness (one stat each), for STATUS and the operator. */
export async function recordsWithLiveness(site: AttachmentSite): Promise<{ stored: StoredRecord; liveness?: Liveness }[]> {
  const stored = listRecords(site);
  const ok = stored.filter(readable);
  const states = await livenessOf(ok.map((s) => s.record));
  return stored.map((s) => (readable(s) ? { stored: s, liveness: states[ok.indexOf(s)] } : { stored: s }));
}

/**
 * DEL every attachment of `site` whose pod is provably gone (`skip`: the
 * record of the attachment the caller is adding). `trigger` says why, for the log.
 */
export async function reclaimDead(site: AttachmentSite, env: Env, opts: { trigger: string; skip?: string }): Promise<SweepOutcome> {
  const out: SweepOutcome = { reclaimed: [], busy: 0, undecided: [], failed: [] };
  const candidates = listRecords(site).filter((s): s is Readable => readable(s) && s.key !== opts.skip);
  // A stat each first; only what looks dead is looked at closely.
  const probed = await livenessOf(candidates.map((c) => c.record));
  const looksDead = candidates.filter((_, i) => probed[i]!.state === 'dead');
  if (looksDead.length === 0) return out;
  const owners = await leasesByOwner(site.dataDir, site.network);
  const addressesOf = (r: AttachmentRecord) =>
    (owners.get(leaseContent(r.containerId, r.ifName)) ?? owners.get(legacyLeaseContent(r.containerId)) ?? []).map(formatIP);
  const states = await livenessOf(
    looksDead.map((c) => c.record),
    { addressesOf },
  );
  states.forEach((s, i) => s.state === 'unknown' && out.undecided.push({ record: looksDead[i]!.record, why: s.why }));
  const dead = looksDead.filter((_, i) => states[i]!.state === 'dead');
  const reclaimLocked = async (c: Readable): Promise<void> => {
    // Under the lock: still the record judged (no ADD took the attachment
    // over), and its path still not the namespace? (A namespace nobody held
    // a moment ago cannot be entered again.)
    const now = readRecord(site, c.key);
    if (!now || !readable(now) || now.text !== c.text) return;
    const [state] = await livenessOf([now.record]);
    if (state!.state !== 'dead') return;
    const r = now.record;
    const addresses = addressesOf(r);
    const fields = { network: site.network, containerId: r.containerId, ifName: r.ifName, netns: r.netns, addresses, why: state!.why, trigger: opts.trigger };
    try {
      await runtimeDel(r.type, r.stdin, { env: delEnv(env, r) });
      notice('reclaimed the attachment of a pod that is gone', fields);
      out.reclaimed.push({ record: r, why: state!.why, addresses });
    } catch (e) {
      notice('could not reclaim the attachment of a pod that is gone; its record stays for the next try', { ...fields, error: errorText(e) });
      out.failed.push({ record: r, error: errorText(e) });
    }
  };
  const underLock = async (c: Readable, lock: NetworkLock): Promise<void> => {
    try {
      await reclaimLocked(c);
    } finally {
      await lock.release();
    }
  };
  const busy: Readable[] = [];
  for (const c of dead) {
    const lock = await tryLockRecord(site, c.key);
    if (lock) await underLock(c, lock);
    else busy.push(c);
  }
  // Held by someone else, most likely reclaiming them too: wait for them, so
  // that what they free is free when the caller tries again, and finish what
  // they did not.
  out.busy = busy.length;
  for (const c of busy) {
    const lock = await lockRecord(site, c.key).catch((e: unknown) => void out.failed.push({ record: c.record, error: errorText(e) }));
    if (lock) await underLock(c, lock);
  }
  return out;
}
