import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileReadError, readRegularFile } from '../../src/cni/regular-file.ts';
import { tempDir } from '../helpers/tmp.ts';

// The one reader of files named by config or environment. The FIFO below is
// opened without blocking; were that broken, this file would hang rather than
// fail, so FIFOs and /dev/zero also go through the built executables, with a
// timeout, in test/reliability/hostile-input.test.ts.

function failure(file: string, limit = 1024): FileReadError {
  try {
    readRegularFile(file, limit, 'test file');
  } catch (e) {
    expect(e).toBeInstanceOf(FileReadError);
    return e as FileReadError;
  }
  throw new Error(`${file} was read`);
}

describe('readRegularFile', () => {
  it('reads a regular file up to and including its limit, through a symbolic link too', () => {
    const dir = tempDir();
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'x'.repeat(1024));
    expect(readRegularFile(file, 1024, 'test file').toString()).toBe('x'.repeat(1024));
    fs.symlinkSync(file, path.join(dir, 'link'));
    expect(readRegularFile(path.join(dir, 'link'), 1024, 'test file').length).toBe(1024);
    fs.writeFileSync(file, '');
    expect(readRegularFile(file, 1024, 'test file').length).toBe(0);
  });

  it('reads a file whose size the kernel does not know in advance (/proc)', () => {
    expect(readRegularFile('/proc/self/status', 1 << 20, 'test file').toString()).toMatch(/^Name:/);
  });

  it('refuses a file one byte over the limit, saying what the limit is and for what', () => {
    const file = path.join(tempDir(), 'big');
    fs.writeFileSync(file, 'x'.repeat(1025));
    const e = failure(file);
    expect([e.code, e.message]).toEqual(['EFBIG', `read ${file}: file too large: weft reads at most 1 KiB of a test file`]);
    expect(failure('/proc/self/maps', 16).code).toBe('EFBIG');
  });

  it('refuses a directory as Go words it, and other kinds of file by their kind', async () => {
    const dir = tempDir();
    expect([failure(dir).code, failure(dir).message]).toEqual(['EISDIR', `read ${dir}: is a directory`]);
    expect(failure('/dev/null').message).toBe('read /dev/null: a character device, not a regular file');
    const sock = path.join(dir, 'sock');
    const server = net.createServer().listen(sock);
    await new Promise((r) => server.once('listening', r));
    try {
      // open(2) on a socket fails before any check of ours can: the system's words, Go's way.
      expect(failure(sock).message).toBe(`open ${sock}: no such device or address`);
    } finally {
      server.close();
    }
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Opened without blocking (no writer needed), then refused.
    expect([failure(fifo).code, failure(fifo).message]).toEqual(['ENOTREG', `read ${fifo}: a named pipe, not a regular file`]);
  });

  it("gives the system's reason in Go's words for a missing file or a file in a parent's place", () => {
    const dir = tempDir();
    const missing = path.join(dir, 'nope');
    expect([failure(missing).code, failure(missing).message]).toEqual(['ENOENT', `open ${missing}: no such file or directory`]);
    fs.writeFileSync(path.join(dir, 'file'), '');
    const under = path.join(dir, 'file', 'x');
    expect([failure(under).code, failure(under).message]).toEqual(['ENOTDIR', `open ${under}: not a directory`]);
  });
});
