import path from 'node:path';
import { isTopLevel } from '../../cni/chain.ts';
import type { Attachment } from '../../cni/conf.ts';
import { CniError, ErrorCode, asCniError } from '../../cni/errors.ts';
import { findInPath, splitPathList } from '../../cni/invoke.ts';
import { log } from '../../cni/log.ts';
import { step } from '../../cni/profile.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { bootId, netnsIdOf } from '../../os/linux/netns.ts';
import { namespaceId } from '../windows-common/endpoint-name.ts';
import { type NamespaceIdentity, recordKey } from './record.ts';
import { type SweepOutcome, reclaimDead, recordsWithLiveness } from './reclaim.ts';
import { type AttachmentSite, listRecords, removeLeftovers, removeRecord, writeRecord } from './store.ts';

// The attachment records through a plugin's verbs. Only the plugin the
// runtime ran keeps them (a delegate's work is part of its caller's
// attachment), and only where it delegates to host-local, whose store is the
// one that runs out:
//   ADD    writes the record before anything changes (so a killed ADD
//          leaves one too); when the range set is exhausted, reclaims the
//          attachments of pods that are provably gone and tries once more;
//   DEL    removes the record once the DEL has succeeded;
//   GC     reclaims the same way, then drops records of attachments the
//          runtime no longer lists (Linux: the IPAM's GC releases what they
//          held), or DELs them (Windows: the IPAM's GC is not run, see
//          gcAttachments);
//   STATUS counts the attachments of pods that look gone (a stat each; on
//          Windows by the last HNS namespace listing, see hns-listing.ts)
//          and, while there are any, does not call an exhausted range set
//          unready (the next ADD reclaims them).

/**
 * The identity of the pod's namespace at ADD, or undefined when the
 * attachment cannot be recorded: a Linux CNI_NETNS that is not an absolute
 * path naming a namespace, a Windows one that is not an HNS namespace GUID
 * (Docker's "none" and "container:<id>"; the ADD fails further on anyway).
 */
export function namespaceIdentity(flavour: 'linux' | 'windows', netns: string): NamespaceIdentity | undefined {
  if (flavour === 'windows') {
    const id = namespaceId(netns);
    return id ? { kind: 'hns', id } : undefined;
  }
  if (!path.isAbsolute(netns)) return undefined;
  const id = netnsIdOf(netns);
  return id && { kind: 'linux', boot: bootId(), dev: String(id.dev), ino: String(id.ino) };
}

/**
 * Is host-local on CNI_PATH? Records are kept only for its leases: where it
 * is not installed the ADD fails at its IPAM step having leased nothing, and
 * leaves nothing behind, not even the records' directory (beside the
 * machine's default store, for flannel's Windows delegate).
 */
function hostLocalInstalled(args: CmdArgs): boolean {
  try {
    findInPath('host-local', splitPathList(args.env.CNI_PATH));
    return true;
  } catch {
    return false;
  }
}

/** An attachment being added with a record. */
export interface Recorded {
  site: AttachmentSite;
  key: string;
  args: CmdArgs;
}

/** ADD's first step: the record, when this run keeps one. */
export async function recordAttachment(
  args: CmdArgs,
  type: string,
  site: AttachmentSite | undefined,
  identity: NamespaceIdentity | undefined,
): Promise<Recorded | undefined> {
  if (!site || !identity || !isTopLevel(args.env) || !hostLocalInstalled(args)) return undefined;
  await writeRecord(site, {
    type,
    containerId: args.containerId,
    ifName: args.ifName,
    netns: args.netns,
    cniArgs: args.args,
    namespace: identity,
    stdin: args.stdinData,
    addedAt: new Date().toISOString(),
  });
  return { site, key: recordKey(args.containerId, args.ifName), args };
}

/** One try at an ADD: its result, or its error and whether the try undid everything it did. */
export type AddAttempt = { result: string } | { error: unknown; undone: boolean };

const EXHAUSTED = /no IP addresses available in range set/;

/** host-local's answer when a range set has no free address (code 11 from weft, 999 from the reference). */
export const isExhausted = (e: unknown): boolean => e instanceof CniError && EXHAUSTED.test(e.msg);

function withDetail(e: unknown, detail: string): CniError {
  const err = asCniError(e);
  return new CniError(err.code, err.msg, err.details ? `${err.details}; ${detail}` : detail);
}

/**
 * Run `attempt` (which throws only when it has done nothing); if the range
 * set was exhausted, reclaim and run it once more. The record goes when the
 * ADD failed and no try left anything behind.
 */
export async function addWithReclaim(rec: Recorded | undefined, attempt: () => Promise<AddAttempt>): Promise<AddAttempt> {
  let leftBehind = false;
  const tracked = async (): Promise<AddAttempt> => {
    const out = await attempt();
    if ('error' in out && !out.undone) leftBehind = true;
    return out;
  };
  const forget = () => {
    if (rec && !leftBehind) removeRecord(rec.site, rec.args.containerId, rec.args.ifName);
  };
  let out: AddAttempt;
  try {
    out = await tracked();
    if ('error' in out && rec && isExhausted(out.error)) out = await reclaimAndRetry(rec, tracked);
  } catch (e) {
    forget();
    throw e;
  }
  if ('error' in out) forget();
  return out;
}

async function reclaimAndRetry(rec: Recorded, attempt: () => Promise<AddAttempt>): Promise<AddAttempt> {
  let swept: SweepOutcome | undefined;
  try {
    swept = await reclaimDead(rec.site, rec.args.env, { trigger: `ADD of ${rec.args.containerId} found the range set exhausted`, skip: rec.key });
  } catch (e) {
    // The ADD's own failure is the one to report; this one is for the log.
    log.warn('could not look for attachments to reclaim', { error: asCniError(e).message });
  }
  // Tried again even when this sweep freed nothing: another one may have, meanwhile.
  const out = await attempt();
  if (!('error' in out) || !isExhausted(out.error)) return out;
  const hint =
    swept && swept.reclaimed.length > 0
      ? `reclaimed ${swept.reclaimed.length} attachment(s) of pods that are gone, and still none is free`
      : `no attachment on this node belongs to a pod that is provably gone; "cnitool attachments ${rec.site.network}" lists who holds the addresses`;
  const undecided = (swept?.undecided ?? []).map((u) => `${u.record.containerId}: ${u.why}`);
  return { ...out, error: withDetail(out.error, [hint, ...undecided.slice(0, 3)].join('; ')) };
}

/** DEL's last step: the attachment is gone, and so is its record. */
export function forgetAttachment(args: CmdArgs, site: AttachmentSite | undefined): void {
  if (site && isTopLevel(args.env)) step('remove attachment record', () => removeRecord(site, args.containerId, args.ifName));
}

/**
 * What GC does with the records of attachments the runtime does not list:
 * 'drop' them (the caller's IPAM GC releases what they held), or 'del' them
 * (a full DEL each, as a reclaim: where the IPAM's GC must not run because
 * the store holds leases weft did not make, kube-proxy's "dummy" lease on
 * Windows among them).
 */
export type Unlisted = 'drop' | 'del';

/** GC's part: reclaim what is provably gone, then drop or DEL the records of attachments the runtime does not list. */
export async function gcAttachments(args: CmdArgs, site: AttachmentSite | undefined, valid: readonly Attachment[], unlisted: Unlisted = 'drop'): Promise<CniError[]> {
  if (!site || !isTopLevel(args.env)) return [];
  const errors: CniError[] = [];
  try {
    const keep = new Set(valid.map((a) => recordKey(a.containerID, a.ifname)));
    const swept = await reclaimDead(site, args.env, { trigger: 'GC', ...(unlisted === 'del' ? { valid: keep } : {}) });
    for (const f of swept.failed) errors.push(new CniError(ErrorCode.Internal, `reclaiming ${f.record.containerId} ${f.record.ifName}: ${f.error}`));
    for (const s of unlisted === 'drop' ? listRecords(site) : []) {
      if (!('record' in s) || keep.has(s.key)) continue;
      log.info('GC: removing the record of an attachment the runtime does not list', { key: s.key });
      removeRecord(site, s.record.containerId, s.record.ifName);
    }
    await removeLeftovers(site);
  } catch (e) {
    errors.push(asCniError(e));
  }
  return errors;
}

/**
 * STATUS: run the delegate's check; an exhausted range set is no reason to
 * refuse pods while dead attachments hold addresses an ADD would reclaim.
 * Linux: a stat per record; Windows: by the HNS namespace listing the last
 * ADD, DEL or reclaim left (STATUS starts no PowerShell: runtimes poll it).
 */
export async function statusWithReclaim(args: CmdArgs, site: AttachmentSite | undefined, check: () => Promise<void>): Promise<void> {
  if (!site || !isTopLevel(args.env)) return check();
  const dead = (await recordsWithLiveness(site)).filter((r) => r.liveness?.state === 'dead').length;
  if (dead > 0) log.warn('attachments of pods that are gone hold addresses; an ADD that finds the range exhausted reclaims them', { network: site.network, dead });
  try {
    await check();
  } catch (e) {
    if (dead > 0 && isExhausted(e)) return;
    throw dead > 0 ? withDetail(e, `${dead} attachment(s) of pods that are gone hold addresses`) : e;
  }
}
