import fs from 'node:fs';
import type { Plugin } from './skel.ts';

// Which file on disk is "weft itself" (the script node runs, or the
// standalone executable) and which plugins it carries. The entry in bin/
// registers both; the protocol core knows no plugin by name. A delegate
// found on CNI_PATH that is this same file (through a symlink or a hard
// link) runs in process instead of being exec'd.

export type PluginLoader = (type: string) => Promise<Plugin | undefined>;

let selfPath: string | undefined;
let selfStat: fs.BigIntStats | undefined | null;
let loader: PluginLoader = async () => undefined;

/** Register weft's own file and its plugin lookup. */
export function setSelf(file: string, load: PluginLoader): void {
  selfPath = file;
  selfStat = undefined;
  loader = load;
}

export const getSelfPath = (): string | undefined => selfPath;

/** True when `file` is weft's own executable (same device and inode). */
function isSelf(file: string): boolean {
  if (!selfPath) return false;
  if (selfStat === undefined) {
    try {
      selfStat = fs.statSync(selfPath, { bigint: true });
    } catch {
      selfStat = null;
    }
  }
  if (!selfStat) return false;
  try {
    // bigint: Windows file indexes do not fit in a double.
    const st = fs.statSync(file, { bigint: true });
    return st.ino !== 0n && st.dev === selfStat.dev && st.ino === selfStat.ino;
  } catch {
    return false;
  }
}

/** The plugin `type` when `file` is weft itself and carries it; else undefined (exec the file). */
export async function selfPlugin(file: string, type: string): Promise<Plugin | undefined> {
  return isSelf(file) ? loader(type) : undefined;
}
