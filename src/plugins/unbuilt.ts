import { CniError, ErrorCode } from '../cni/errors.ts';
import type { Plugin, Verb } from '../cni/skel.ts';
import { ALL_VERSIONS } from '../cni/version.ts';

/**
 * A plugin whose implementation has not landed: it answers VERSION and fails
 * every other command with a CNI error that says so, never a fake success.
 */
export function unbuiltPlugin(type: string): Plugin {
  const fail: Verb = () => {
    throw new CniError(ErrorCode.Internal, `weft ${type} is not built yet`);
  };
  return {
    type,
    about: `CNI ${type} plugin (weft), not built yet`,
    versions: ALL_VERSIONS,
    add: fail,
    check: fail,
    del: fail,
    gc: fail,
    status: fail,
  };
}
