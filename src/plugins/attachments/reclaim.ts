import { runtimeDel } from '../../cni/delegate.ts';
import type { Env } from '../../cni/env.ts';
import { errorText } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { formatIP } from '../../net/ip.ts';
import type { NetworkLock } from '../../ipam/host-local/lock.ts';
import { leasesByOwner } from '../../ipam/host-local/queries.ts';
import { leaseContent, legacyLeaseContent } from '../../ipam/host-local/store.ts';
import { type HnsListingOrWhy, coveredBy, loadListing, saveListing } from './hns-listing.ts';
import { type Liveness, livenessOf } from './liveness.ts';
import type { AttachmentRecord } from './record.ts';
import { type AttachmentSite, type StoredRecord, listRecords, lockRecord, readRecord, tryLockRecord } from './store.ts';

// Reclaiming: every attachment of a store whose pod is provably gone gets
// the full DEL the runtime never sent (leases, saved config, masquerade
// rules, the HNS endpoint; a veth went with its namespace), run as the
// runtime would run it: the recorded plugin type, config and CNI_* values.
// Each one is taken under its record's lock and checked once more there, so
// an attachment that an ADD has taken over (same container and interface, a
// new namespace) in the meantime is left alone; one whose lock is held is
// being reclaimed by someone else, or added, and is left alone too.

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

/**
 * HNS namespaces listed now, one PowerShell for all of `records` (read
 * before it), and left for STATUS; loaded only when an HNS record is judged.
 */
function listingNow(site: AttachmentSite, env: Env, records: readonly AttachmentRecord[]): () => Promise<HnsListingOrWhy> {
  return async () => {
    const { listHnsNamespaces } = await import('../windows-common/hns-namespaces.ts');
    const listing = await listHnsNamespaces(env, coveredBy(records));
    if (!('unknown' in listing)) saveListing(site, listing);
    return listing;
  };
}

/**
 * The records of `site` with their liveness: one stat each; HNS records by a
 * listing taken now with `env` (the operator's list), else (STATUS, which
 * starts no PowerShell) by the last listing a command left.
 */
export async function recordsWithLiveness(site: AttachmentSite, env?: Env): Promise<{ stored: StoredRecord; liveness?: Liveness }[]> {
  const stored = listRecords(site);
  const ok = stored.filter(readable);
  const records = ok.map((s) => s.record);
  const states = await livenessOf(records, undefined, env ? listingNow(site, env, records) : async () => loadListing(site));
  return stored.map((s) => (readable(s) ? { stored: s, liveness: states[ok.indexOf(s)] } : { stored: s }));
}

const NOT_LISTED: Liveness = { state: 'dead', why: 'the runtime no longer lists it' };

/**
 * DEL every attachment of `site` whose pod is provably gone (`skip`: the
 * record of the attachment the caller is adding). With `valid` (a GC that
 * DELs what the runtime does not list), every record whose key is not in it
 * goes too, whatever its namespace. `trigger` says why, for the log.
 */
export async function reclaimDead(site: AttachmentSite, env: Env, opts: { trigger: string; skip?: string; valid?: ReadonlySet<string> }): Promise<SweepOutcome> {
  const out: SweepOutcome = { reclaimed: [], busy: 0, undecided: [], failed: [] };
  const candidates = listRecords(site).filter((s): s is Readable => readable(s) && s.key !== opts.skip);
  const unlisted = (c: Readable) => opts.valid !== undefined && !opts.valid.has(c.key);
  const judged = new Map<Readable, Liveness>(candidates.filter(unlisted).map((c) => [c, NOT_LISTED]));
  // A stat each, one HNS listing for all, first; only what looks dead is looked at closely.
  const listed = candidates.filter((c) => !unlisted(c));
  const probed = await livenessOf(listed.map((c) => c.record), undefined, listingNow(site, env, listed.map((c) => c.record)));
  listed.forEach((c, i) => judged.set(c, probed[i]!));
  const looksDead = candidates.filter((c) => judged.get(c)!.state === 'dead');
  if (looksDead.length === 0) return out;
  const owners = await leasesByOwner(site.dataDir, site.network);
  const addressesOf = (r: AttachmentRecord) =>
    (owners.get(leaseContent(r.containerId, r.ifName)) ?? owners.get(legacyLeaseContent(r.containerId)) ?? []).map(formatIP);
  // Only a Linux namespace can live on where its path no longer leads; an
  // HNS GUID that is gone never comes back.
  const closer = looksDead.filter((c) => !unlisted(c) && c.record.namespace.kind === 'linux');
  const states = await livenessOf(closer.map((c) => c.record), { addressesOf });
  closer.forEach((c, i) => judged.set(c, states[i]!));
  for (const c of looksDead) {
    const s = judged.get(c)!;
    if (s.state === 'unknown') out.undecided.push({ record: c.record, why: s.why });
  }
  const dead = looksDead.filter((c) => judged.get(c)!.state === 'dead');
  const reclaimLocked = async (c: Readable): Promise<void> => {
    // Under the lock: still the record judged (no ADD took the attachment
    // over), and its path still not the namespace? (A namespace nobody held
    // a moment ago cannot be entered again.)
    const now = readRecord(site, c.key);
    if (!now || !readable(now) || now.text !== c.text) return;
    // The other verdicts hold for the same record (a GUID is never reused, a GC's list is the runtime's).
    const state = !unlisted(c) && now.record.namespace.kind === 'linux' ? (await livenessOf([now.record]))[0]! : judged.get(c)!;
    if (state.state !== 'dead') return;
    const r = now.record;
    const addresses = addressesOf(r);
    const fields = { network: site.network, containerId: r.containerId, ifName: r.ifName, netns: r.netns, addresses, why: state.why, trigger: opts.trigger };
    try {
      await runtimeDel(r.type, r.stdin, { env: delEnv(env, r) });
      notice('reclaimed the attachment of a pod that is gone', fields);
      out.reclaimed.push({ record: r, why: state.why, addresses });
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
