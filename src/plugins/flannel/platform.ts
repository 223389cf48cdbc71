import { CniError, ErrorCode } from '../../cni/errors.ts';
import { isValidName } from '../../cni/names.ts';
import type { Env } from '../../cni/env.ts';

// Which delegate flavour flannel builds (Linux bridge or Windows HNS) and how
// it names a container's saved delegate config. The flavour follows the
// machine; WEFT_FLANNEL_OS=linux|windows overrides it so that the Windows
// delegate can be built and tested on Linux.

export type FlannelOS = 'linux' | 'windows';

export const OS_OVERRIDE_VAR = 'WEFT_FLANNEL_OS';

export function flannelOS(env: Env): FlannelOS {
  const v = env[OS_OVERRIDE_VAR];
  if (v === undefined || v === '') return process.platform === 'win32' ? 'windows' : 'linux';
  if (v === 'linux' || v === 'windows') return v;
  throw new CniError(ErrorCode.InvalidEnvironmentVariables, `${OS_OVERRIDE_VAR} must be "linux" or "windows", not ${JSON.stringify(v)}`);
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
