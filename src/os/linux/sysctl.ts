import fs from 'node:fs';
import { CniError, ErrorCode } from '../../cni/errors.ts';

// sysctls of this process's own namespace: /proc/sys follows the namespace of
// the process that opens it, so no spawn is needed on the host side.

/** Go's os error text: "open /proc/sys/...: read-only file system". */
function goFsError(e: unknown, path: string): string {
  const err = e as NodeJS.ErrnoException;
  const text = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1] ?? err.message;
  return `${err.syscall ?? 'open'} ${path}: ${text}`;
}

/** The value, or undefined when it cannot be read. */
function readSysctl(key: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/sys/${key}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function writeSysctl(key: string, value: string): void {
  const path = `/proc/sys/${key}`;
  try {
    fs.writeFileSync(path, value);
  } catch (e) {
    throw new CniError(ErrorCode.Internal, goFsError(e, path));
  }
}

/** Best effort, for settings whose failure the reference ignores (accept_ra). */
export function trySysctl(key: string, value: string): void {
  try {
    writeSysctl(key, value);
  } catch {
    // ignored on purpose: e.g. IPv6 disabled on this host
  }
}

/** ip.EnableIP4Forward / EnableIP6Forward: write 1 unless it already reads 1. */
export function enableForwarding(family: 4 | 6): void {
  const key = family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding';
  if (readSysctl(key) === '1') return;
  writeSysctl(key, '1');
}
