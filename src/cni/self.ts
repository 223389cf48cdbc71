import fs from 'node:fs';

// Which file on disk is "weft itself": the script node runs, or the
// standalone executable. A delegate found on CNI_PATH that is this same file
// (through a symlink or a hard link) is run in process instead of exec'd.

let selfPath: string | undefined;
let selfStat: fs.BigIntStats | undefined | null;

export function setSelfPath(p: string): void {
  selfPath = p;
  selfStat = undefined;
}

export const getSelfPath = (): string | undefined => selfPath;

/** True when `file` is weft's own executable (same device and inode). */
export function isSelf(file: string): boolean {
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
