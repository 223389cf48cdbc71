import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];

/** A fresh temporary directory, removed after the current test. */
export function tempDir(prefix = 'weft-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Write an executable shell script. */
export function writeScript(file: string, body: string): string {
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const cniBin = path.join(repoRoot, 'dist', 'cni-bin');
