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
