import { CniError, ErrorCode } from '../../cni/errors.ts';
import { validateInterfaceName } from '../../cni/names.ts';
import { isBatchSafe } from '../../os/linux/iproute.ts';

// Names that reach iproute2 batch lines. The kernel accepts almost any
// interface name, but a batch line cannot carry blanks, quotes, '#', '\' or
// '%' (a kernel name template), so weft refuses those up front instead of
// creating something else.

const UNSAFE_HINT = "(blanks, quotes, '#', '\\', '%' and control characters cannot be passed to iproute2)";

/** CNI_IFNAME (skel already checked the kernel's rules). */
export function checkPodIfName(name: string): void {
  if (!isBatchSafe(name)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `interface name ${JSON.stringify(name)} is not supported ${UNSAFE_HINT}`);
  }
}

/** The config's `bridge`. */
export function checkBridgeName(name: string): void {
  const err = validateInterfaceName(name);
  if (err) throw new CniError(ErrorCode.InvalidNetworkConfig, `bridge: ${JSON.stringify(name)}: ${err.msg}`);
  if (!isBatchSafe(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `bridge: ${JSON.stringify(name)} is not supported ${UNSAFE_HINT}`);
  }
}

/** CNI_NETNS: it becomes an argument of the veth line. */
export function checkNetnsPath(path: string): void {
  if (!isBatchSafe(path)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `netns path ${JSON.stringify(path)} is not supported ${UNSAFE_HINT}`);
  }
}
