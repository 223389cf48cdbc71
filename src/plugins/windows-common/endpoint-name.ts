import { CniError, ErrorCode } from '../../cni/errors.ts';

// What CNI_NETNS means on Windows, and the endpoint name derived from it.
// containerd passes the HNS namespace GUID; Docker passed "none" for a pod's
// pause container and "container:<pause id>" for the containers sharing it.

const PAUSE_NETNS = 'none';
/** An HNS GUID as HNS writes it (no braces), either case. */
export const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** GetSandboxContainerID: with "container:<id>" the endpoint belongs to <id>. */
export function sandboxId(containerId: string, netns: string): string {
  if (netns !== '' && netns !== PAUSE_NETNS) {
    const colon = netns.indexOf(':');
    if (colon >= 0) return netns.slice(colon + 1);
  }
  return containerId;
}

/** `<sandbox id>_<network name>`, the name HNS knows the endpoint by. */
export const endpointName = (containerId: string, netns: string, network: string): string =>
  `${sandboxId(containerId, netns)}_${network}`;

/** The HNS namespace GUID in CNI_NETNS (braces allowed), or undefined. */
export function namespaceId(netns: string): string | undefined {
  const bare = netns.startsWith('{') && netns.endsWith('}') ? netns.slice(1, -1) : netns;
  return GUID.test(bare) ? bare.toLowerCase() : undefined;
}

/** Docker's "container:<id>": the endpoint is the sandbox's, not this container's. */
export const isSharedNetns = (netns: string): boolean => netns !== PAUSE_NETNS && netns.includes(':');

/** ADD and CHECK need a namespace to attach to (containerd's way). */
export function requireNamespaceId(netns: string): string {
  const id = namespaceId(netns);
  if (id) return id;
  throw new CniError(
    ErrorCode.InvalidEnvironmentVariables,
    `CNI_NETNS must be the GUID of an HNS namespace (as containerd passes it), got ${JSON.stringify(netns)}: ` +
      `weft attaches endpoints to HNS namespaces and does not implement Docker's "none"/"container:<id>" hot-attach`,
  );
}
