import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { writeFileAtomic } from '../../cni/atomic-file.ts';
import { log } from '../../cni/log.ts';
import { fsErrorMessage } from '../../cni/oserror.ts';
import { storePaths } from '../../ipam/host-local/store.ts';
import type { AttachmentRecord } from './record.ts';
import type { AttachmentSite } from './store.ts';

// What an HNS namespace listing proves about the attachment records (Windows).
// A listing names the namespaces that existed at one moment; `covered` names
// the namespaces of the records that existed before that moment. A record's
// namespace exists before its record does (the runtime makes the namespace,
// then runs ADD, which writes the record first), so a covered namespace that
// the listing lacks had been removed, and GUIDs are never handed out again:
// that pod is gone. This needs no clock. A record not covered is not judged.
//
// Every win-* ADD and DEL lists the namespaces in the plan it runs anyway
// (one HCN call, no PowerShell of its own) and leaves the listing beside the
// records, in <dataDir>/.weft/<network>/hns-namespaces, for STATUS, which
// starts no PowerShell. A reclaim lists afresh (one PowerShell for all).

export interface HnsListing {
  /** Lower-case GUIDs of the namespaces HNS listed. */
  namespaces: ReadonlySet<string>;
  /** Lower-case GUIDs of the namespaces of the records that existed before the listing. */
  covered: ReadonlySet<string>;
}

export type HnsListingOrWhy = HnsListing | { unknown: string };

const FORMAT = 1;
const FILE = 'hns-namespaces';

const Guid = z.string().check(z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/));
const FileSchema = z.object({ weftHnsNamespaces: z.literal(FORMAT), listedAt: z.string(), namespaces: z.array(Guid), covered: z.array(Guid) });

/** The namespaces of the HNS records among `records`, for a listing about to be taken. */
export const coveredBy = (records: readonly AttachmentRecord[]): Set<string> =>
  new Set(records.flatMap((r) => (r.namespace.kind === 'hns' ? [r.namespace.id.toLowerCase()] : [])));

const fileOf = (site: AttachmentSite): string => path.join(storePaths(site.dataDir, site.network).stateDir, FILE);

let tempSerial = 0;

/**
 * Leave `listing` for STATUS when it judges a record (one covers none: and
 * where no record is kept, nothing is written); a failure is only logged
 * (the listing is a hint, the command's work is done).
 */
export function saveListing(site: AttachmentSite, listing: HnsListing): void {
  if (listing.covered.size === 0) return;
  const file = fileOf(site);
  const doc = { weftHnsNamespaces: FORMAT, listedAt: new Date().toISOString(), namespaces: [...listing.namespaces].sort(), covered: [...listing.covered].sort() };
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, `${JSON.stringify(doc)}\n`, `${file}.tmp.${process.pid}-${tempSerial++}`, { fsync: false });
  } catch (e) {
    log.warn('could not save the HNS namespace listing for STATUS', { file, error: fsErrorMessage(e) });
  }
}

/** The listing an earlier command left, or why there is none. */
export function loadListing(site: AttachmentSite): HnsListingOrWhy {
  let text: string;
  try {
    text = fs.readFileSync(fileOf(site), 'utf8');
  } catch (e) {
    return { unknown: `no HNS namespace listing to judge it by (${fsErrorMessage(e)})` };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  const parsed = FileSchema.safeParse(doc);
  if (!parsed.success) return { unknown: `the HNS namespace listing ${fileOf(site)} is damaged` };
  return { namespaces: new Set(parsed.data.namespaces), covered: new Set(parsed.data.covered) };
}
