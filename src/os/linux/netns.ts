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

/**
 * The inodes of every network namespace still alive where this process can
 * see it: one a process lives in (/proc/<pid>/ns/net), or one bind-mounted in
 * this mount namespace (/proc/self/mountinfo). A namespace whose path is gone
 * may still be held this way, with its pod interface and address inside.
 */
export function liveNetnsInodes(): Set<bigint> {
  const out = new Set<bigint>();
  const add = (tag: string) => {
    const m = /^net:\[(\d+)\]$/.exec(tag);
    if (m) out.add(BigInt(m[1]!));
  };
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      add(fs.readlinkSync(`/proc/${pid}/ns/net`));
    } catch {
      // The process ended while we looked.
    }
  }
  // mountinfo: "<id> <parent> <dev> <root> <mount point> ... - <fs type> ..."; a namespace's root is "net:[<inode>]".
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    if (fields[3]?.startsWith('net:[')) add(fields[3]);
  }
  return out;
}
