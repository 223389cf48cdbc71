import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { fsErrorMessage } from '../../cni/oserror.ts';

// The network lock: proper-lockfile's protocol (a directory created with an
// atomic mkdir; a holder keeps its mtime fresh; a lock whose mtime is older
// than `staleMs` belongs to a dead process and may be broken). The
// uncontended case takes the directory with one mkdir and never loads
// proper-lockfile (5 ms bundled, 12 ms from node_modules, with graceful-fs
// and signal-exit); only a process that finds the lock taken loads it and
// waits through it. Both sides speak the same protocol.

export interface LockOptions {
  /** A lock untouched for this long is a dead holder's (proper-lockfile's minimum is 2000). */
  staleMs?: number;
  /** Give up waiting after this long (code 11, try again later); 0: do not wait (a stale lock is still broken). */
  timeoutMs?: number;
}

export interface NetworkLock {
  /** Let timers run (they keep the lock fresh) if the current job has been busy for a while. */
  pause(): Promise<void>;
  release(): Promise<void>;
}

const DEFAULT_STALE_MS = 4000;
const DEFAULT_TIMEOUT_MS = 60_000;

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

const lockedError = () => Object.assign(new Error('Lock file is already being held'), { code: 'ELOCKED' });

/**
 * The fs proper-lockfile is given. Breaking a stale lock is done under a
 * second lock ("<lock>.break") and only after the lock is seen stale again
 * under it: proper-lockfile alone can let two waiters break the same stale
 * lock and one of them remove the lock the other has just taken.
 */
export function breakingFs(staleMs: number, releasing: () => boolean) {
  const isStale = (st: fs.Stats) => st.mtimeMs < Date.now() - staleMs;
  const breakStale = (lockDir: string, cb: (err?: Error | null) => void) => {
    const breaker = `${lockDir}.break`;
    fs.mkdir(breaker, (err) => {
      if (err) {
        if (errno(err) !== 'EEXIST') return cb(err);
        // A breaker killed half-way leaves its directory; it goes stale like the lock.
        return fs.stat(breaker, (e2, st) => {
          if (!e2 && isStale(st)) fs.rmdir(breaker, () => cb(lockedError()));
          else cb(lockedError());
        });
      }
      const done = (res?: Error | null) => fs.rmdir(breaker, () => cb(res));
      fs.stat(lockDir, (e3, st) => {
        if (e3) return done(errno(e3) === 'ENOENT' ? null : e3);
        if (!isStale(st)) return done(lockedError());
        log.warn('breaking a stale lock', { lock: lockDir, ageMs: Math.round(Date.now() - st.mtimeMs) });
        const removed = (e5: Error | null) => done(e5 && errno(e5) !== 'ENOENT' ? e5 : null);
        // A file in the lock's place (damage: no lock is a file) goes the same way, or nobody could ever lock.
        if (!st.isDirectory()) return fs.unlink(lockDir, removed);
        fs.rmdir(lockDir, removed);
      });
    });
  };
  return {
    mkdir: fs.mkdir,
    stat: fs.stat,
    utimes: fs.utimes,
    realpath: fs.realpath,
    rmdirSync: fs.rmdirSync,
    rmdir: (p: string, cb: (err?: Error | null) => void) => (releasing() ? fs.rmdir(p, cb) : breakStale(p, cb)),
  };
}

const pauseEveryMs = 200;

function pauser(): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < pauseEveryMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    last = Date.now();
  };
}

/**
 * Held through one mkdir: this process keeps the mtime fresh itself. Like
 * proper-lockfile, it touches or removes the directory only while it still
 * carries the inode and mtime this process gave it: a holder stalled past
 * the stale time must not refresh or remove the lock someone else now holds.
 */
function fastLock(lockDir: string, staleMs: number): NetworkLock {
  const first = fs.statSync(lockDir);
  const ours = { ino: first.ino, mtimeMs: first.mtimeMs };
  let lost = false;
  const stillOurs = (): boolean => {
    if (lost) return false;
    try {
      const st = fs.statSync(lockDir);
      if (st.ino === ours.ino && st.mtimeMs === ours.mtimeMs) return true;
    } catch {
      // Removed: someone broke it.
    }
    lost = true;
    log.error('the network lock was taken from this process', { lock: lockDir });
    return false;
  };
  const touch = () => {
    if (!stillOurs()) return clearInterval(timer);
    const now = new Date();
    try {
      fs.utimesSync(lockDir, now, now);
      ours.mtimeMs = fs.statSync(lockDir).mtimeMs;
    } catch (e) {
      log.warn('could not refresh the lock', { lock: lockDir, error: (e as Error).message });
    }
  };
  const timer = setInterval(touch, Math.max(250, staleMs / 4));
  timer.unref();
  const remove = () => {
    if (!stillOurs()) return;
    try {
      fs.rmdirSync(lockDir);
    } catch {
      // Already gone.
    }
  };
  process.once('exit', remove);
  return {
    pause: pauser(),
    release: async () => {
      clearInterval(timer);
      process.removeListener('exit', remove);
      remove();
    },
  };
}

async function waitingLock(lockDir: string, staleMs: number, timeoutMs: number): Promise<NetworkLock> {
  const pl = await import('proper-lockfile');
  const lockFn = pl.lock ?? (pl as unknown as { default: typeof pl }).default.lock;
  let releasing = false;
  const started = Date.now();
  let release: () => Promise<void>;
  try {
    release = await lockFn(lockDir, {
      lockfilePath: lockDir,
      realpath: false,
      stale: staleMs,
      fs: breakingFs(staleMs, () => releasing),
      retries: timeoutMs === 0 ? 0 : { retries: 20, factor: 1.4, minTimeout: 5, maxTimeout: 50, randomize: true, forever: true, maxRetryTime: timeoutMs },
      onCompromised: (err) => log.error('the network lock was taken from this process', { lock: lockDir, error: err.message }),
    });
  } catch (e) {
    if (errno(e) === 'ELOCKED') {
      throw new CniError(
        ErrorCode.TryAgainLater,
        `timed out after ${Math.round((Date.now() - started) / 1000)}s waiting for the lock ${lockDir}`,
      );
    }
    throw new CniError(ErrorCode.IOFailure, `failed to lock ${lockDir}: ${fsErrorMessage(e)}`);
  }
  log.debug('lock taken after waiting', { lock: lockDir, waitedMs: Date.now() - started });
  return {
    pause: pauser(),
    release: async () => {
      releasing = true;
      try {
        await release();
      } catch (e) {
        log.warn('could not release the lock', { lock: lockDir, error: (e as Error).message });
      }
    },
  };
}

/** Take the lock directory `lockDir`, waiting for its holder (or its going stale). */
export async function lockNetwork(lockDir: string, opts: LockOptions = {}): Promise<NetworkLock> {
  const staleMs = Math.max(2000, opts.staleMs ?? DEFAULT_STALE_MS);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(lockDir, { mode: 0o700 });
      return fastLock(lockDir, staleMs);
    } catch (e) {
      if (errno(e) === 'EEXIST') return waitingLock(lockDir, staleMs, timeoutMs);
      if (errno(e) !== 'ENOENT' || attempt > 0) {
        throw new CniError(ErrorCode.IOFailure, `failed to lock ${lockDir}: ${fsErrorMessage(e)}`);
      }
      try {
        fs.mkdirSync(path.dirname(lockDir), { recursive: true, mode: 0o700 });
      } catch (e2) {
        throw new CniError(ErrorCode.IOFailure, `failed to lock ${lockDir}: ${fsErrorMessage(e2)}`);
      }
    }
  }
}
