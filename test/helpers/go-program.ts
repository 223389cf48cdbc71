import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Builds a test program written in Go against Debian's Go source packages
// (GOPATH mode, offline). The binary is kept in the temp dir under a hash of
// its source, so later runs reuse it.

const GOPATH = '/usr/share/gocode';

/** Build the main package in `sourceDir` (one main.go); `needs` names the Debian packages it takes its imports from. */
export function goProgram(sourceDir: string, needs: string): string {
  const name = path.basename(sourceDir);
  const source = fs.readFileSync(path.join(sourceDir, 'main.go'));
  const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `weft-${name}-${hash}`);
  const bin = path.join(dir, name);
  if (fs.existsSync(bin)) return bin;
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), `weft-${name}-build-`));
  try {
    execFileSync('go', ['build', '-o', path.join(staging, name), '.'], {
      cwd: sourceDir,
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: process.env.GOCACHE || path.join(os.tmpdir(), 'weft-go-build-cache') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`cannot build ${name} (needs Debian packages golang-go and ${needs}): ${err.stderr?.toString() || err.message}`);
  }
  try {
    // A parallel build that got there first wins; nobody sees a half-written binary.
    fs.renameSync(staging, dir);
  } catch {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return bin;
}
