import path from 'node:path';
import * as z from 'zod/mini';
import { isValidName, validateInterfaceName } from '../../cni/names.ts';

// An attachment record: what a full DEL of one attachment needs, written by
// the plugin the runtime ran (flannel, or a bridge run on its own) before it
// changes anything. It names the plugin and the config it got, the runtime's
// CNI_* values, and the identity of the pod's network namespace at ADD, so
// that a later command can prove the pod is gone and DEL it in the runtime's
// place. weft's own format, kept beside host-local's store (store.ts).

/** The pod's network namespace as it was at ADD. */
export type NamespaceIdentity =
  /**
   * Linux: the machine's boot ID, and the device and inode of the CNI_NETNS
   * file (decimal strings: inodes pass 2^53). Inode numbers of dead
   * namespaces are handed out again, so they tell namespaces apart only
   * together with the path, or within one boot.
   */
  | { kind: 'linux'; boot: string; dev: string; ino: string }
  /** Windows: the HNS namespace GUID (CNI_NETNS). Liveness is the Windows part's (liveness.ts). */
  | { kind: 'hns'; id: string };

export interface AttachmentRecord {
  /** The plugin type the runtime ran: the one whose DEL undoes everything. */
  type: string;
  containerId: string;
  ifName: string;
  netns: string;
  cniArgs: string;
  namespace: NamespaceIdentity;
  /** The config exactly as the plugin read it. */
  stdin: Buffer;
  /** When ADD wrote it (ISO 8601), for the operator's view. */
  addedAt: string;
}

const FORMAT = 1;

const Decimal = z.string().check(z.regex(/^[0-9]{1,20}$/));

const FileSchema = z.object({
  weftAttachment: z.literal(FORMAT),
  type: z.string(),
  containerId: z.string(),
  ifName: z.string(),
  netns: z.string(),
  cniArgs: z.string(),
  namespace: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('linux'), boot: z.string(), dev: Decimal, ino: Decimal }),
    z.object({ kind: z.literal('hns'), id: z.string().check(z.regex(/^[0-9a-fA-F-]{36}$/)) }),
  ]),
  stdin: z.string().check(z.regex(/^[A-Za-z0-9+/]*={0,2}$/)),
  addedAt: z.string(),
});

export function encodeRecord(r: AttachmentRecord): string {
  const doc: z.infer<typeof FileSchema> = {
    weftAttachment: FORMAT,
    type: r.type,
    containerId: r.containerId,
    ifName: r.ifName,
    netns: r.netns,
    cniArgs: r.cniArgs,
    namespace: r.namespace,
    // base64: the config's bytes as they came, whatever they are.
    stdin: r.stdin.toString('base64'),
    addedAt: r.addedAt,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The record in `text`, or why it cannot be one (a record that is not whole is never acted on). */
export function decodeRecord(text: string): AttachmentRecord | { corrupt: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { corrupt: `not JSON: ${(e as Error).message}` };
  }
  const parsed = FileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { corrupt: `${issue.path.join('.') || 'record'}: ${issue.message}` };
  }
  const d = parsed.data;
  // Only what weft itself would have written may ever be run.
  if (!isValidName(d.type)) return { corrupt: `type: ${JSON.stringify(d.type)} is not a plugin name` };
  if (!isValidName(d.containerId)) return { corrupt: `containerId: ${JSON.stringify(d.containerId)} is not a container ID` };
  if (validateInterfaceName(d.ifName)) return { corrupt: `ifName: ${JSON.stringify(d.ifName)} is not an interface name` };
  if (d.namespace.kind === 'linux' && !path.isAbsolute(d.netns)) return { corrupt: `netns: ${JSON.stringify(d.netns)} is not an absolute path` };
  return {
    type: d.type,
    containerId: d.containerId,
    ifName: d.ifName,
    netns: d.netns,
    cniArgs: d.cniArgs,
    namespace: d.namespace,
    stdin: Buffer.from(d.stdin, 'base64'),
    addedAt: d.addedAt,
  };
}

/**
 * The record's file name: the container ID, '@', and the interface name with
 * every byte outside [A-Za-z0-9_-] as %XX. Container IDs cannot hold '@' or
 * start with '.', so names never collide, and none is a temporary or lock name.
 */
export function recordKey(containerId: string, ifName: string): string {
  const encoded = [...Buffer.from(ifName)].map((b) => (/[A-Za-z0-9_-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`));
  return `${containerId}@${encoded.join('')}`;
}

/** True for a name recordKey can produce. */
export const isRecordKey = (name: string): boolean => /^[a-zA-Z0-9][a-zA-Z0-9_.-]*@(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/.test(name);
