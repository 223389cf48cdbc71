import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { breakingFs, lockNetwork } from '../../../src/ipam/host-local/lock.ts';
import { tempDir } from '../../helpers/tmp.ts';

// The network lock (proper-lockfile's directory protocol; reference case 44
// is flock-based and becomes "takes and releases"), its waiting, and the
// breaking of a dead holder's lock.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock directory as a holder killed `ageMs` ago leaves it. */
function deadHolder(lockDir: string, ageMs: number): void {
  fs.mkdirSync(lockDir, { recursive: true });
  const t = new Date(Date.now() - ageMs);
  fs.utimesSync(lockDir, t, t);
}

describe('lockNetwork', () => {
  it('takes the lock directory, creating its parents, and removes it on release (case 44)', async () => {
    const lockDir = path.join(tempDir(), '.weft', 'net', 'lock');
    const lock = await lockNetwork(lockDir);
    expect(fs.statSync(lockDir).isDirectory()).toBe(true);
    await lock.release();
    expect(fs.existsSync(lockDir)).toBe(false);
    await (await lockNetwork(lockDir)).release();
  });

  it('makes a second taker wait for the holder', async () => {
    const lockDir = path.join(tempDir(), 'lock');
    const first = await lockNetwork(lockDir);
    const started = Date.now();
    let secondAt = 0;
    const second = lockNetwork(lockDir).then((l) => {
      secondAt = Date.now();
      return l;
    });
    await sleep(300);
    expect(secondAt).toBe(0);
    await first.release();
    await (await second).release();
    expect(secondAt - started).toBeGreaterThanOrEqual(290);
  });

  it('breaks the lock of a killed holder once it is stale, within a few seconds', async () => {
    const lockDir = path.join(tempDir(), 'lock');
    deadHolder(lockDir, 0);
    const started = Date.now();
    const lock = await lockNetwork(lockDir, { staleMs: 2000 });
    const waited = Date.now() - started;
    await lock.release();
    expect(waited).toBeGreaterThanOrEqual(1500);
    expect(waited).toBeLessThan(5000);
  });

  it('lets exactly one of many waiters through at a time when a stale lock is broken', async () => {
    const lockDir = path.join(tempDir(), 'lock');
    let inside = 0;
    let maxInside = 0;
    // Many waiters find the same stale lock at once; proper-lockfile alone lets
    // a late breaker remove the lock an early one has just taken.
    for (let round = 0; round < 3; round++) {
      deadHolder(lockDir, 60_000);
      await Promise.all(
        Array.from({ length: 24 }, async () => {
          const lock = await lockNetwork(lockDir, { staleMs: 2000 });
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(5);
          inside--;
          await lock.release();
        }),
      );
    }
    expect(maxInside).toBe(1);
    expect(fs.existsSync(lockDir)).toBe(false);
    expect(fs.existsSync(`${lockDir}.break`)).toBe(false);
  });

  it('never breaks a lock that was taken again after it was seen stale', async () => {
    const lockDir = path.join(tempDir(), 'lock');
    const fsForLockfile = breakingFs(2000, () => false);
    const breakIt = () => new Promise<Error | null | undefined>((resolve) => fsForLockfile.rmdir(lockDir, resolve));
    // Seen stale by a waiter, then broken and re-taken by another before this waiter acts.
    fs.mkdirSync(lockDir);
    const err = await breakIt();
    expect((err as NodeJS.ErrnoException).code).toBe('ELOCKED');
    expect(fs.existsSync(lockDir)).toBe(true);
    deadHolder(lockDir, 10_000);
    expect(await breakIt()).toBeNull();
    expect(fs.existsSync(lockDir)).toBe(false);
    expect(fs.existsSync(`${lockDir}.break`)).toBe(false);
  });

  it('keeps a held lock fresh, so a long holder is not taken for dead', async () => {
    const lockDir = path.join(tempDir(), 'lock');
    const holder = await lockNetwork(lockDir, { staleMs: 2000 });
    await sleep(2600);
    const err = await lockNetwork(lockDir, { staleMs: 2000, timeoutMs: 600 }).catch((e: unknown) => e);
    await holder.release();
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(11);
    expect((err as CniError).msg).toMatch(/^timed out after \d+s waiting for the lock /);
  });

  it('neither refreshes nor removes a lock that was broken and taken by another process', async () => {
    const lockDir = path.join(tempDir(), 'lock');
    const stalled = await lockNetwork(lockDir, { staleMs: 2000 });
    // While this holder stalled, another broke its lock and took a fresh one.
    fs.rmdirSync(lockDir);
    fs.mkdirSync(lockDir);
    const theirs = new Date(Date.now() - 1000);
    fs.utimesSync(lockDir, theirs, theirs);
    await sleep(700);
    expect(Math.abs(fs.statSync(lockDir).mtimeMs - theirs.getTime())).toBeLessThan(1);
    await stalled.release();
    expect(fs.existsSync(lockDir)).toBe(true);
  });

  it('reports a lock directory that cannot be made as an I/O failure', async () => {
    const file = path.join(tempDir(), 'file');
    fs.writeFileSync(file, '');
    const err = await lockNetwork(path.join(file, 'lock')).catch((e: unknown) => e);
    expect((err as CniError).code).toBe(5);
  });
});
