import fs from 'node:fs';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { type IP, formatIP } from '../../net/ip.ts';
import { fsErrorMessage } from '../../cni/oserror.ts';
import { step } from '../../cni/profile.ts';
import { type Intent, readIndex, readIntent, removeIntent, writeIndex, writeIntent } from './index-file.ts';
import { type DirStamp, LeaseIndex, ownerHash, sameStamp } from './lease-index.ts';
import { type LockOptions, type NetworkLock, lockNetwork } from './lock.ts';
import {
  type ScannedLease,
  type StorePaths,
  createLease,
  ensureNetDir,
  leaseContent,
  legacyLeaseContent,
  readLastReserved,
  readLease,
  removeLease,
  removeOrphanTemps,
  scanLeases,
  storePaths,
  writeLastReserved,
} from './store.ts';

// One locked job on a network's store. The lease files are the truth; the
// index is trusted only while the network folder still carries the stamp
// (inode, mtime, ctime) the index recorded. After each change weft sets the
// folder's mtime to a value a later change cannot reproduce (a moment in the
// past) and records the resulting stamp, so any change by someone else (the
// reference plugin, an operator's rm) shows as a new stamp and forces a
// rebuild from the files. Each answer the index gives is confirmed against
// the one lease file it concerns before anything is done with it.
//
// The index and the intent record are caches: failing to write them (a full
// disk) never fails a command. A lost index write leaves a stale stamp, so
// the next process repairs or rebuilds; a lost intent write removes the
// intent record, so nothing stale can be replayed. Only the lease files
// themselves decide whether a command succeeds, which keeps DEL working on
// a full disk.

export interface OpenOptions extends LockOptions {
  /** Create the network folder (ADD, STATUS) instead of reporting its absence (DEL, CHECK, GC). */
  create: boolean;
}

function statDir(dir: string): DirStamp {
  const st = fs.statSync(dir, { bigint: true });
  return { ino: st.ino, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/** An mtime no later change can produce: last second, at a random microsecond. */
function unreachableMtime(): number {
  return Math.floor(Date.now() / 1000) - 1 + Math.floor(Math.random() * 1e6) / 1e6;
}

/** Stamp the folder with an mtime of weft's choosing and return the resulting stamp. */
function restamp(dir: string): DirStamp {
  const t = unreachableMtime();
  fs.utimesSync(dir, t, t);
  return statDir(dir);
}

export class NetworkSession {
  private dirty = false;
  private intent: Intent | undefined;
  /** An intent write failed in this job: announce no more until the index is saved. */
  private intentLost = false;

  private constructor(
    readonly paths: StorePaths,
    private readonly lock: NetworkLock,
    public index: LeaseIndex,
  ) {}

  /** Lock the network and load its index; undefined when the folder is absent and `create` is false. */
  static async open(dataDir: string, network: string, opts: OpenOptions): Promise<NetworkSession | undefined> {
    const paths = storePaths(dataDir, network);
    if (opts.create) ensureNetDir(paths);
    else if (!fs.existsSync(paths.netDir)) return undefined;
    const lock = await step('lock', () => lockNetwork(paths.lockDir, opts));
    try {
      removeOrphanTemps(paths);
      const session = new NetworkSession(paths, lock, LeaseIndex.empty({ ino: 0n, mtimeNs: 0n, ctimeNs: 0n }));
      await step('load index', () => session.load());
      return session;
    } catch (e) {
      await lock.release();
      throw e instanceof CniError ? e : new CniError(ErrorCode.IOFailure, `host-local store ${paths.netDir}: ${fsErrorMessage(e)}`);
    }
  }

  private async load(): Promise<void> {
    const current = statDir(this.paths.netDir);
    const saved = readIndex(this.paths.stateDir);
    if (saved && sameStamp(saved.stamp, current)) {
      this.index = saved;
      return;
    }
    const intent = saved && readIntent(this.paths.stateDir);
    if (saved && intent && sameStamp(intent.base, saved.stamp)) {
      // A job died between changing the folder and saving the index.
      this.index = saved;
      for (const ip of intent.ips) this.refresh(ip);
      log.info('index repaired from an unfinished job', { network: this.paths.network, ips: intent.ips.length });
      // Saved even when no entry changed: the folder's new stamp must be recorded.
      this.dirty = true;
      this.save();
      return;
    }
    await this.rebuild(saved);
  }

  /** Make the index entry of `ip` match its lease file. */
  private refresh(ip: IP): string | undefined {
    const content = readLease(this.paths, ip);
    if (content === undefined) {
      if (this.index.delete(ip)) this.dirty = true;
    } else {
      const h = ownerHash(content);
      if (this.index.hashOf(ip) !== h) {
        this.index.set(ip, h);
        this.dirty = true;
      }
    }
    return content;
  }

  /**
   * Rebuild the index from every lease file. The folder is stamped first and
   * checked again after the scan, so a change during the scan is not missed.
   */
  async rebuild(previous?: LeaseIndex): Promise<ScannedLease[]> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const before = restamp(this.paths.netDir);
      const leases = await scanLeases(this.paths, () => this.lock.pause());
      const after = statDir(this.paths.netDir);
      if (sameStamp(before, after) || attempt >= 3) {
        this.index = LeaseIndex.build(
          leases.map((l) => ({ ip: l.ip, hash: ownerHash(l.content) })),
          before,
        );
        if (previous) {
          this.index.slot = previous.slot;
          this.index.generation = previous.generation;
        }
        this.persist();
        this.dirty = false;
        log.info('index rebuilt from the store', { network: this.paths.network, leases: leases.length, ms: Date.now() - started });
        return leases;
      }
    }
  }

  /** Write the index; a failure is logged, the next process rebuilds from the files. */
  private persist(): boolean {
    try {
      writeIndex(this.paths.stateDir, this.index);
      return true;
    } catch (e) {
      log.warn('could not save the lease index; the next command rebuilds it', { error: fsErrorMessage(e) });
      return false;
    }
  }

  /** Record, before touching the folder, which lease file is about to change. */
  private announce(ip: IP | undefined): void {
    this.dirty = true;
    if (this.intentLost || (this.intent && !ip)) return;
    if (!this.intent) this.intent = { base: this.index.stamp, ips: [] };
    if (ip) this.intent.ips.push(ip);
    try {
      writeIntent(this.paths.stateDir, this.intent);
    } catch (e) {
      // Without the record a crash before save() means a rebuild, never a wrong repair.
      log.warn('could not record the intent; a crash now would mean a rebuild', { error: fsErrorMessage(e) });
      removeIntent(this.paths.stateDir);
      this.intent = undefined;
      this.intentLost = true;
    }
  }

  /**
   * The leases of an attachment, confirmed on disk: files holding
   * "<id>\r\n<ifname>", or, only when there are none, files of an old version
   * holding the bare ID (the reference's two-step rule).
   */
  leasesOf(containerId: string, ifName: string): IP[] {
    const full = leaseContent(containerId, ifName);
    const legacy = legacyLeaseContent(containerId);
    const exact: IP[] = [];
    const old: IP[] = [];
    for (const ip of this.index.withOwnerHash([ownerHash(full), ownerHash(legacy)])) {
      const content = this.refresh(ip);
      if (content === full) exact.push(ip);
      else if (content === legacy) old.push(ip);
    }
    return exact.length > 0 ? exact : old;
  }

  /** Reserve `ip` for `content`; false when a lease file already holds it. */
  reserve(ip: IP, content: string): boolean {
    this.announce(ip);
    if (step('lease file', () => createLease(this.paths, ip, content))) {
      this.index.set(ip, ownerHash(content));
      return true;
    }
    // The index did not know this lease: someone else wrote it. Learn it.
    log.warn('index missed a lease; learning it', { network: this.paths.network, ip: formatIP(ip) });
    if (this.refresh(ip) === undefined) {
      // Not a lease file (a directory holds the name): the address is still
      // not ours to give, so the allocator must step over it, not retry it.
      this.index.set(ip, ownerHash(''));
      this.dirty = true;
    }
    return false;
  }

  /** Remove the lease of `ip` (announced, unless the caller rebuilds on failure anyway). */
  release(ip: IP, opts: { announce?: boolean } = {}): void {
    if (opts.announce !== false) this.announce(ip);
    else this.dirty = true;
    removeLease(this.paths, ip);
    this.index.delete(ip);
  }

  lastReserved(rangeId: number): IP | undefined {
    return readLastReserved(this.paths, rangeId);
  }

  setLastReserved(rangeId: number, ip: IP): void {
    this.announce(undefined);
    writeLastReserved(this.paths, rangeId, ip);
  }

  /** Save the index if it changed, with the folder's new stamp. */
  save(): void {
    if (!this.dirty) return;
    this.index.stamp = restamp(this.paths.netDir);
    if (!this.persist()) return;
    this.dirty = false;
    this.intent = undefined;
    this.intentLost = false;
  }

  /** Let the lock's timers run during a long job. */
  pause(): Promise<void> {
    return this.lock.pause();
  }

  async close(): Promise<void> {
    try {
      step('save index', () => this.save());
    } finally {
      await step('unlock', () => this.lock.release());
    }
  }
}

/** Run `job` in a session on the network; undefined (without running it) when the folder is absent. */
export async function withNetwork<T>(
  dataDir: string,
  network: string,
  opts: OpenOptions,
  job: (s: NetworkSession) => Promise<T> | T,
): Promise<T | undefined> {
  const session = await NetworkSession.open(dataDir, network, opts);
  if (!session) return undefined;
  let out: T;
  try {
    out = await job(session);
  } catch (e) {
    // The job's error is the one to report; what it did is still saved and the lock freed.
    await session.close().catch((closeErr: unknown) => log.error('failed to close the store', { error: (closeErr as Error).message }));
    throw e;
  }
  await session.close();
  return out;
}
