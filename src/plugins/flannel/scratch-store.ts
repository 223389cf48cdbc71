import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { isPlainObject, parseJson } from '../../cni/json.ts';
import { fieldCI } from '../../cni/keys.ts';
import { isValidName } from '../../cni/names.ts';
import { writeFileAtomic } from '../../cni/atomic-file.ts';
import { goPathError } from '../../cni/oserror.ts';
import { type FileReadError, readRegularFile } from '../../cni/regular-file.ts';

// The delegate configs flannel saved at ADD, one file per container in
// dataDir, holding exactly the bytes the delegate got; DEL replays them. A
// file is written to a temporary name and renamed, so a process killed at
// any moment leaves it whole or absent. It is not fsync'd: only a power loss
// could leave it empty or absent, and a power loss ends every pod it could
// describe; the runtime's DEL of such a pod finds the file missing or
// unusable and still releases the lease with a rebuilt config (del.ts), as
// the attachment records argue too (attachments/store.ts).

export type SavedConf =
  | { state: 'saved'; bytes: Buffer; type: string }
  | { state: 'missing' }
  | { state: 'corrupt'; reason: string };

const TEMP_SUFFIX = '.tmp';

/** The largest delegate config flannel saves (and reads back): real ones are a few hundred bytes. */
export const SAVED_CONF_LIMIT = 1 << 20;

// Unique among live writers (node:crypto would cost start-up time for nothing).
let tempSerial = 0;

/** Temporary files start with a dot, which no container ID can. */
const isTempName = (name: string) => name.startsWith('.') && name.endsWith(TEMP_SUFFIX);

const ioError = (msg: string) => new CniError(ErrorCode.IOFailure, msg);

export interface ScratchStore {
  readonly dir: string;
  fileOf(key: string): string;
  save(key: string, bytes: Buffer): void;
  load(key: string): SavedConf;
  remove(key: string): void;
  /** The keys that have a saved config. */
  keys(): string[];
  /** Remove temporary files a crash left behind. */
  removeLeftovers(): void;
}

/** Like Go's os.Remove: a file, or a directory if it is empty; absent is fine. */
function removeFileOrEmptyDir(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') throw e;
    fs.rmdirSync(file);
  }
}

export function scratchStore(dataDir: string): ScratchStore {
  const dir = path.resolve(dataDir);

  const fileOf = (key: string): string => {
    // Keys are container IDs (validated by skel) or sandbox IDs (validated by
    // scratchKey); this is the last line before a name becomes a path.
    if (!isValidName(key)) throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'invalid characters in containerID', key);
    const file = path.join(dir, key);
    if (path.dirname(file) !== dir) throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'invalid characters in containerID', key);
    return file;
  };

  return {
    dir,
    fileOf,

    save(key, bytes) {
      const file = fileOf(key);
      // What DEL could not read back is not saved: the ADD fails before any work.
      if (bytes.length > SAVED_CONF_LIMIT) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, `failed to save delegate config: it is ${bytes.length} bytes, more than the ${SAVED_CONF_LIMIT >> 20} MiB flannel keeps for DEL`);
      }
      const temp = path.join(dir, `.${key}.${process.pid}-${tempSerial++}${TEMP_SUFFIX}`);
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (e) {
        // Go's MkdirAll says a file in the way is "not a directory"; Node says it exists.
        const err = e as NodeJS.ErrnoException;
        const why = err.code === 'EEXIST' ? Object.assign(err, { code: 'ENOTDIR' }) : err;
        throw ioError(`failed to save delegate config: ${goPathError('mkdir', dir, why)}`);
      }
      try {
        writeFileAtomic(file, bytes, temp, { fsync: false });
      } catch (e) {
        throw ioError(`failed to save delegate config: ${goPathError('open', file, e as NodeJS.ErrnoException)}`);
      }
      // The directory is not synced: a rename lost in a crash leaves no file,
      // and DEL without a file still releases the lease (see del.ts).
    },

    load(key) {
      const file = fileOf(key);
      let bytes: Buffer;
      try {
        bytes = readRegularFile(file, SAVED_CONF_LIMIT, 'saved delegate config');
      } catch (e) {
        const err = e as FileReadError;
        // ENOTDIR: dataDir (or a parent) is a file, so no config can have been saved there.
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return { state: 'missing' };
        // flannel never makes anything else there, nor one that large: damage, which DEL must get past.
        if (['EISDIR', 'ENOTREG', 'EFBIG'].includes(err.code)) return { state: 'corrupt', reason: err.message };
        throw ioError(`failed to read delegate config: ${err.message}`);
      }
      let doc: unknown;
      try {
        doc = parseJson(bytes);
      } catch (e) {
        return { state: 'corrupt', reason: `failed to parse netconf: ${(e as Error).message}` };
      }
      const type = isPlainObject(doc) ? fieldCI(doc, 'type') : undefined;
      if (typeof type !== 'string' || type === '') return { state: 'corrupt', reason: 'failed to parse netconf: no delegate type in it' };
      return { state: 'saved', bytes, type };
    },

    remove(key) {
      try {
        removeFileOrEmptyDir(fileOf(key));
      } catch (e) {
        throw ioError(`failed to remove delegate config: ${goPathError('remove', fileOf(key), e as NodeJS.ErrnoException)}`);
      }
    },

    keys() {
      try {
        // Only files are saved configs; anything else is not flannel's to collect.
        return fs
          .readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isFile() && isValidName(d.name))
          .map((d) => d.name);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return [];
        throw ioError(`failed to list delegate configs: ${goPathError('open', dir, e as NodeJS.ErrnoException)}`);
      }
    },

    removeLeftovers() {
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        return;
      }
      for (const name of names) if (isTempName(name)) fs.rmSync(path.join(dir, name), { force: true });
    },
  };
}
