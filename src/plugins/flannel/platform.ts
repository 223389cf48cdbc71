import { CniError, ErrorCode } from '../../cni/errors.ts';
import { isValidName } from '../../cni/names.ts';
import type { FlannelConf } from './conf.ts';

// Which delegate flavour flannel builds (Linux bridge or Windows HNS) and how
// it names a container's saved delegate config. On Windows it is always the
// Windows one, as in the reference. A delegate that is one of weft's Windows
// plugins gets the Windows config wherever flannel runs: no other config
// would work for it (and so the Windows chain can be run on Linux too).

export type FlannelOS = 'linux' | 'windows';

const WINDOWS_DELEGATES: ReadonlySet<unknown> = new Set(['win-bridge', 'win-overlay']);

export function flannelOS(conf: FlannelConf): FlannelOS {
  return process.platform === 'win32' || WINDOWS_DELEGATES.has(conf.delegate?.type) ? 'windows' : 'linux';
}

/**
 * The saved config's key: the container ID; on Windows the sandbox's ID when
 * CNI_NETNS is docker's "container:<id>" (so all containers of a pod share it).
 */
export function scratchKey(args: { containerId: string; netns: string }, os: FlannelOS): string {
  if (os !== 'windows' || args.netns === '' || args.netns === 'none') return args.containerId;
  const colon = args.netns.indexOf(':');
  if (colon < 0) return args.containerId;
  const sandbox = args.netns.slice(colon + 1);
  // skel validated the container ID, not this one; it becomes a file name.
  if (!isValidName(sandbox)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'invalid characters in sandbox ID from CNI_NETNS', args.netns);
  }
  return sandbox;
}
