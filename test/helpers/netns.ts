import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, afterEach } from 'vitest';
import { type RunResult, run } from './run.ts';

// Network namespaces for integration tests. Every test gets its own "host"
// namespace (where bridges, veths and iptables rules land) and pod
// namespaces, so nothing touches the machine's real network and parallel
// suites never collide. All are deleted after the test, even when it fails.

const created = new Set<string>();

/** Integration tests need root; say so plainly instead of skipping. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('network namespace tests must run as root (CI runs them as root)');
  }
}

export interface Netns {
  name: string;
  path: string;
}

/** Create a namespace with lo up. Names stay short: they appear in interface-name-limited places. */
export function createNetns(prefix = 'w'): Netns {
  requireRoot();
  const name = `${prefix}-${crypto.randomBytes(5).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  created.add(name);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return { name, path: `/var/run/netns/${name}` };
}

export function deleteNetns(ns: Netns | string): void {
  const name = typeof ns === 'string' ? ns : ns.name;
  created.delete(name);
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

export const netnsExists = (ns: Netns): boolean => fs.existsSync(ns.path);

/**
 * Put a new namespace (lo up) under an existing one's name and path. The new
 * one is made before the old one goes, so it cannot reuse the old inode
 * number (the kernel hands freed namespace inodes out again).
 */
export function recreateNetns(ns: Netns): Netns {
  const fresh = createNetns('wnew');
  execFileSync('ip', ['netns', 'del', ns.name]);
  fs.writeFileSync(ns.path, '');
  execFileSync('mount', ['--bind', fresh.path, ns.path]);
  deleteNetns(fresh);
  created.add(ns.name);
  return ns;
}

/** Run a command inside a namespace (ip netns exec also gives it that namespace's /sys). */
export function runIn(ns: Netns, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string | Buffer } = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns.name, cmd, ...args], opts);
}

/** Synchronous `ip -n <ns> ...`, returning stdout; throws on failure. */
export function ipIn(ns: Netns, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns.name, ...args], { encoding: 'utf8' });
}

/** `ip -j -n <ns> ...` parsed. */
export function ipJson<T = unknown>(ns: Netns, ...args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-j', '-n', ns.name, ...args], { encoding: 'utf8' }) || '[]') as T;
}

/** Run a shell command line inside a namespace and return stdout (throws on failure). */
export function shIn(ns: Netns, script: string): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, 'sh', '-c', script], { encoding: 'utf8' });
}

function cleanup(): void {
  for (const name of [...created]) deleteNetns(name);
}

afterEach(cleanup);
afterAll(cleanup);
