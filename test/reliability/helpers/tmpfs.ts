import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { tempDir } from '../../helpers/tmp.ts';

// A small tmpfs on a temporary directory, to run out of space (or of inodes)
// on purpose. It is unmounted after the test, whatever happens.

const mounted = new Set<string>();

function unmountAll(): void {
  for (const dir of [...mounted]) {
    mounted.delete(dir);
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // already unmounted
    }
  }
}

afterEach(unmountAll);
afterAll(unmountAll);

const PAGE = 4096;

export interface SmallFs {
  dir: string;
  /** Take every free block (a filler file); the data already there stays. */
  fill(): void;
  /** Give back `pages` pages of the filler (0: stay full). */
  leave(pages: number): void;
  /** Take every free inode (empty files). */
  fillInodes(): void;
  /** Remove the fillers. */
  free(): void;
}

export function smallTmpfs(opts: { sizeKb: number; inodes?: number }): SmallFs {
  const dir = tempDir('weft-rel-tmpfs-');
  const options = [`size=${opts.sizeKb}k`, 'mode=0755', ...(opts.inodes ? [`nr_inodes=${opts.inodes}`] : [])];
  execFileSync('mount', ['-t', 'tmpfs', '-o', options.join(','), 'weft-rel-tmpfs', dir]);
  mounted.add(dir);
  const filler = path.join(dir, 'filler');
  const inodeDir = path.join(dir, 'inode-filler');
  return {
    dir,
    fill() {
      const fd = fs.openSync(filler, 'a');
      const chunk = Buffer.alloc(PAGE, 0x55);
      try {
        for (;;) fs.writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      } finally {
        fs.closeSync(fd);
      }
    },
    leave(pages) {
      const size = fs.statSync(filler).size;
      fs.truncateSync(filler, Math.max(0, size - pages * PAGE));
    },
    fillInodes() {
      fs.mkdirSync(inodeDir, { recursive: true });
      try {
        for (let i = 0; ; i++) fs.closeSync(fs.openSync(path.join(inodeDir, String(i)), 'w'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    },
    free() {
      fs.rmSync(filler, { force: true });
      fs.rmSync(inodeDir, { recursive: true, force: true });
    },
  };
}
