import fs from 'node:fs';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { errnoText } from '../../cni/oserror.ts';

// Is a CNI_NETNS path a network namespace? The same test and messages as Go's
// ns.GetNS: statfs must report nsfs (or procfs on old kernels).

const NSFS_MAGIC = 0x6e736673;
const PROCFS_MAGIC = 0x9fa0;

/** The path does not exist (Go's NSPathNotExistErr): DEL treats the pod as gone. */
export class NetnsMissingError extends CniError {}

export function checkNetns(path: string): void {
  let type: number;
  try {
    type = fs.statfsSync(path).type;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      throw new NetnsMissingError(ErrorCode.Internal, `failed to Statfs ${JSON.stringify(path)}: no such file or directory`);
    }
    throw new CniError(ErrorCode.Internal, `failed to Statfs ${JSON.stringify(path)}: ${errnoText(err)}`);
  }
  if (type !== NSFS_MAGIC && type !== PROCFS_MAGIC) {
    throw new CniError(ErrorCode.Internal, `unknown FS magic on ${JSON.stringify(path)}: ${type.toString(16)}`);
  }
}

/** A network namespace as the device and inode of a file naming it (unique while the namespace lives). */
export interface NetnsId {
  dev: bigint;
  ino: bigint;
}

const isNamespaceFs = (path: string): boolean => {
  const type = fs.statfsSync(path).type;
  return type === NSFS_MAGIC || type === PROCFS_MAGIC;
};

/** The namespace `path` names, or undefined when it names none (absent, or not a namespace file). */
export function netnsIdOf(path: string): NetnsId | undefined {
  try {
    if (!isNamespaceFs(path)) return undefined;
    const st = fs.statSync(path, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** What `path` names now, compared with the namespace it named before. */
export type NetnsPathState = 'same' | 'gone' | 'other' | { unknown: string };

export function netnsPathState(path: string, was: NetnsId): NetnsPathState {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(path, { bigint: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // ENOTDIR: a parent of the path is a file now; the path is as gone as it can be.
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return 'gone';
    return { unknown: err.message };
  }
  // An empty file left behind by an unmount, or another namespace: either way not the one it was.
  return st.dev === was.dev && st.ino === was.ino ? 'same' : 'other';
}

/** Where a live namespace is held: a path naming it, and what that is. */
export interface NetnsHolder {
  path: string;
  what: string;
}

// mountinfo escapes blanks, tabs, newlines and backslashes in paths as \ooo.
const unescapeMountPath = (p: string): string => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * Every network namespace still alive where this process can see it, by
 * inode, with all that holds it: processes living in it (/proc/<pid>/ns/net)
 * and bind mounts in this mount namespace (/proc/self/mountinfo; one may be
 * hidden under a later mount). The kernel hands the
 * inode numbers of dead namespaces out again, so a number found here is a
 * namespace that lives, not necessarily the one that had it before.
 */
export function liveNetnsHolders(): Map<bigint, NetnsHolder[]> {
  const out = new Map<bigint, NetnsHolder[]>();
  const add = (tag: string, holder: NetnsHolder) => {
    const m = /^net:\[(\d+)\]$/.exec(tag);
    if (!m) return;
    const ino = BigInt(m[1]!);
    out.set(ino, [...(out.get(ino) ?? []), holder]);
  };
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const path = `/proc/${pid}/ns/net`;
    try {
      add(fs.readlinkSync(path), { path, what: `process ${pid}` });
    } catch {
      // The process ended while we looked.
    }
  }
  // mountinfo: "<id> <parent> <dev> <root> <mount point> ..."; a namespace's root is "net:[<inode>]".
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    if (!fields[3]?.startsWith('net:[') || fields[4] === undefined) continue;
    const path = unescapeMountPath(fields[4]);
    add(fields[3], { path, what: `a mount at ${path}` });
  }
  return out;
}

let boot: string | undefined;

/** This boot of the machine (a reboot ends every namespace); '' when the kernel does not say. */
export function bootId(): string {
  if (boot === undefined) {
    try {
      boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      boot = '';
    }
  }
  return boot;
}
