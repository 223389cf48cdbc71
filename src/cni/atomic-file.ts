import fs from 'node:fs';
import path from 'node:path';
import { step } from './profile.ts';

// A file that is either whole or absent after a crash: written under a
// temporary name, synced, then renamed into place.

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // Nothing was created (the directory is not one): the first error is the one to tell.
  }
}

/**
 * Write `data` to `temp` (which must not exist), fsync it and rename it to
 * `file`. With `syncDir`, the directory is synced too, so the rename itself
 * survives a power loss (where the platform allows it). `fsync: false` is for
 * files that only have to be whole after a crash of the process, not of the
 * machine.
 */
export function writeFileAtomic(
  file: string,
  data: string | Buffer,
  temp: string,
  opts: { syncDir?: boolean; fsync?: boolean } = {},
): void {
  try {
    const fd = fs.openSync(temp, 'wx', 0o600);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off);
      if (opts.fsync !== false) step('fsync', () => fs.fsyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (e) {
    removeQuietly(temp);
    throw e;
  }
  if (!opts.syncDir) return;
  try {
    const dirFd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // Directory fsync is not possible everywhere (Windows); the rename is still atomic.
  }
}
