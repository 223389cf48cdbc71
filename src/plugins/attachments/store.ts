import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../cni/atomic-file.ts';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { isPlainObject } from '../../cni/json.ts';
import { fieldCI } from '../../cni/keys.ts';
import { fsErrorMessage, withPath } from '../../cni/oserror.ts';
import { DEFAULT_DATA_DIR } from '../../ipam/host-local/config.ts';
import { type NetworkLock, lockNetwork } from '../../ipam/host-local/lock.ts';
import { storePaths } from '../../ipam/host-local/store.ts';
import { type AttachmentRecord, decodeRecord, encodeRecord, isRecordKey, recordKey } from './record.ts';

// Attachment records live beside the store whose addresses they hold:
// <ipam dataDir>/.weft/<network>/attachments/<key>, in weft's own folder,
// so host-local's store and the reference's formats stay as they are (and
// the tests' data dirs hold everything). Each record has a lock,
// .lock.<key> (host-local's lock protocol: a directory kept fresh by its
// holder, broken once stale): ADD holds it while it writes the record, a
// reclaim while it checks the record once more and runs the DEL, so a
// reclaim never DELs an attachment that an ADD has just taken over.
//
// Records are renamed into place but not fsync'd: a process killed at any
// moment leaves a whole record or none, and a power loss, which could lose
// one, also ends every pod it could describe.

export interface AttachmentSite {
  /** host-local's dataDir. */
  dataDir: string;
  network: string;
}

export type StoredRecord = { key: string; record: AttachmentRecord; text: string } | { key: string; corrupt: string };

/** The site of a host-local IPAM config (`ipam` as the plugin passes it on), or undefined for another IPAM. */
export function hostLocalSite(network: string, ipam: unknown): AttachmentSite | undefined {
  // host-local reads both keys as struct fields: in any case.
  if (!isPlainObject(ipam) || fieldCI(ipam, 'type') !== 'host-local') return undefined;
  const dataDir = fieldCI(ipam, 'dataDir');
  return { dataDir: typeof dataDir === 'string' && dataDir !== '' ? dataDir : DEFAULT_DATA_DIR, network };
}

const TEMP_PREFIX = '.tmp.';
const LOCK_PREFIX = '.lock.';

let tempSerial = 0;

export const attachmentsDir = (site: AttachmentSite): string => path.join(storePaths(site.dataDir, site.network).stateDir, 'attachments');

const ioError = (what: string, e: unknown) => new CniError(ErrorCode.IOFailure, `${what}: ${fsErrorMessage(e)}`);

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

function lockDirOf(site: AttachmentSite, key: string): string {
  return path.join(attachmentsDir(site), `${LOCK_PREFIX}${key}`);
}

/** Take the record's lock, waiting for its holder (a reclaim's DEL, or a stale lock going stale). */
export function lockRecord(site: AttachmentSite, key: string): Promise<NetworkLock> {
  return lockNetwork(lockDirOf(site, key));
}

/** Take the record's lock if nobody holds it (a stale lock is broken); undefined when it is held. */
export async function tryLockRecord(site: AttachmentSite, key: string): Promise<NetworkLock | undefined> {
  try {
    return await lockNetwork(lockDirOf(site, key), { timeoutMs: 0 });
  } catch (e) {
    if (e instanceof CniError && e.code === ErrorCode.TryAgainLater) return undefined;
    throw e;
  }
}

/** Write `record` in place of any earlier one of the same attachment, under its lock. */
export async function writeRecord(site: AttachmentSite, record: AttachmentRecord): Promise<void> {
  const key = recordKey(record.containerId, record.ifName);
  const lock = await lockRecord(site, key);
  const dir = attachmentsDir(site);
  const temp = path.join(dir, `${TEMP_PREFIX}${key}.${process.pid}-${tempSerial++}`);
  try {
    writeFileAtomic(path.join(dir, key), encodeRecord(record), temp, { fsync: false });
  } catch (e) {
    // A write on an open file does not say which: the temporary one.
    throw ioError('failed to record the attachment', withPath(e, temp));
  } finally {
    await lock.release();
  }
}

/** The record of `key`, or undefined when there is none. */
export function readRecord(site: AttachmentSite, key: string): StoredRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(attachmentsDir(site), key), 'utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return undefined;
    return { key, corrupt: fsErrorMessage(e) };
  }
  const decoded = decodeRecord(text);
  return 'corrupt' in decoded ? { key, corrupt: decoded.corrupt } : { key, record: decoded, text };
}

/** Every record of the site, sorted by key. */
export function listRecords(site: AttachmentSite): StoredRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(attachmentsDir(site));
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return [];
    throw ioError('failed to list attachment records', e);
  }
  return names
    .filter(isRecordKey)
    .sort()
    .map((key) => readRecord(site, key))
    .filter((r): r is StoredRecord => r !== undefined);
}

/** Remove the record of `key`; absent is fine. */
export function removeRecord(site: AttachmentSite, containerId: string, ifName: string): void {
  const file = path.join(attachmentsDir(site), recordKey(containerId, ifName));
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return;
    throw ioError('failed to remove the attachment record', e);
  }
}

/**
 * Remove what killed processes left: temporary records and locks. Both are
 * taken care of under the record's lock (a writer holds it while its
 * temporary file exists; a stale lock is broken on the way, one that is
 * still fresh is somebody's and stays).
 */
export async function removeLeftovers(site: AttachmentSite): Promise<void> {
  const dir = attachmentsDir(site);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const keys = new Set<string>();
  for (const name of names) {
    const key = name.startsWith(TEMP_PREFIX) ? name.slice(TEMP_PREFIX.length).replace(/\.[0-9]+-[0-9]+$/, '') : name.startsWith(LOCK_PREFIX) ? name.slice(LOCK_PREFIX.length) : '';
    if (isRecordKey(key)) keys.add(key);
  }
  for (const key of keys) {
    const lock = await tryLockRecord(site, key);
    if (!lock) continue;
    try {
      for (const name of names) if (name.startsWith(`${TEMP_PREFIX}${key}.`)) fs.rmSync(path.join(dir, name), { force: true });
    } finally {
      await lock.release();
    }
  }
}
