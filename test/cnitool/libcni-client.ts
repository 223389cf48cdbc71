import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Builds test/cnitool/libcni-client (Go) against Debian's
// golang-github-appc-cni-dev (libcni 1.1.2, GOPATH mode). The binary is kept
// in the temp dir under a hash of its source, so test files and later runs
// share one build.

const SOURCE_DIR = path.join(import.meta.dirname, 'libcni-client');
const GOPATH = '/usr/share/gocode';

export function libcniClient(): string {
  const source = fs.readFileSync(path.join(SOURCE_DIR, 'main.go'));
  const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `weft-libcni-client-${hash}`);
  const bin = path.join(dir, 'libcni-client');
  if (fs.existsSync(bin)) return bin;

  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-libcni-build-'));
  try {
    execFileSync('go', ['build', '-o', path.join(staging, 'libcni-client'), '.'], {
      cwd: SOURCE_DIR,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH,
        GOFLAGS: '',
        GOCACHE: process.env.GOCACHE || path.join(os.tmpdir(), 'weft-go-build-cache'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(
      `cannot build the libcni client (needs Debian packages golang-go and golang-github-appc-cni-dev): ${err.stderr?.toString() || err.message}`,
    );
  }
  try {
    // Whole-directory rename: a parallel build that got there first wins, and nobody sees a half-written binary.
    fs.renameSync(staging, dir);
  } catch {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return bin;
}
