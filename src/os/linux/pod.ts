import { CniError, ErrorCode } from '../../cni/errors.ts';
import { formatIP } from '../../net/ip.ts';
import { execTool } from './exec.ts';
import { type IpCommand, parseJsonArrays, runBatch } from './iproute.ts';

// Work inside a pod's network namespace, named by a path (/var/run/netns/x or
// /proc/<pid>/ns/net). One process per call. Plain ip work in a namespace
// under /var/run/netns is one `ip -n <name>` (iproute2 6.1's -n takes only
// names there); other paths go through nsenter. Work with sysctls or a
// settle is one nsenter running a small script: it writes the sysctls (their
// values arrive as positional arguments, never as script text), then becomes
// `ip -batch -`, and, when asked, waits for IPv6 duplicate address detection
// to settle like Go's ip.SettleAddresses.

export interface PodSysctl {
  /** Below /proc/sys, e.g. net/ipv6/conf/eth0/accept_dad. */
  readonly key: string;
  readonly value: string;
  /** may: failure ignored; must: failure is an error; if-present: skipped when the key does not exist. */
  readonly mode: 'may' | 'must' | 'if-present';
  readonly onError?: (detail: string) => CniError;
}

export interface PodWork {
  /** The interface the work is for: it must exist (Go's "failed to lookup"). */
  readonly ifName?: string;
  readonly sysctls?: readonly PodSysctl[];
  readonly cmds: readonly IpCommand[];
  /** Wait (5 s at most) until no IPv6 address of `ifName` is tentative. */
  readonly settle?: boolean;
}

// Exit codes the script uses to say which of its own steps failed.
const NO_LINK = 96;
const SYSCTL_FAILED = 97;
const DAD_FAILED = 98;
const STILL_TENTATIVE = 99;
const SETTLE_TIMEOUT_NS = '5000000000';

// Every interface has a net/ipv4/conf/<name> directory in its namespace.
const SCRIPT = `ifname=$1 settle=$2
shift 2
if [ -n "$ifname" ] && [ ! -d "/proc/sys/net/ipv4/conf/$ifname" ]; then exit ${NO_LINK}; fi
while [ "$#" -ge 3 ]; do
  f="/proc/sys/$2"
  if [ "$1" != if-present ] || [ -e "$f" ]; then
    if ! { printf '%s' "$3" > "$f"; } 2>/dev/null && [ "$1" != may ]; then
      echo "weft-sysctl $2" >&2
      exit ${SYSCTL_FAILED}
    fi
  fi
  shift 3
done
[ "$settle" = 1 ] || exec ip -batch -
ip -batch - || exit
n=0
while :; do
  busy=
  while read -r addr idx plen scope flags name; do
    [ "$name" = "$ifname" ] || continue
    if [ $((0x$flags & 8)) -ne 0 ]; then echo "weft-dadfailed $addr" >&2; exit ${DAD_FAILED}; fi
    if [ $((0x$flags & 64)) -ne 0 ]; then busy=1; fi
  done < /proc/net/if_inet6
  [ -n "$busy" ] || exit 0
  n=$((n + 1))
  if [ "$n" -ge 100 ]; then echo weft-tentative >&2; exit ${STILL_TENTATIVE}; fi
  sleep 0.05
done`;

const nsenterNet = (netns: string): string[] => [`--net=${netns}`, '--'];

// What `ip -n NAME` opens: NETNS_RUN_DIR/NAME.
const IP_NETNS_DIR = '/var/run/netns/';

/** `ip` with `args`, run in the namespace at `netns`: [file, argv]. */
export function ipIn(netns: string, args: readonly string[]): [string, string[]] {
  const name = netns.startsWith(IP_NETNS_DIR) ? netns.slice(IP_NETNS_DIR.length) : '';
  // A name ip would take for an option, or one that leaves the folder, goes the long way.
  if (/^[^-/.][^/]*$/.test(name)) return ['ip', ['-n', name, ...args]];
  return ['nsenter', [...nsenterNet(netns), 'ip', ...args]];
}

/** /proc/net/if_inet6 spells an address as 32 hex digits. */
function hexIPv6(hex: string): string {
  return /^[0-9a-f]{32}$/i.test(hex) ? formatIP({ family: 6, value: BigInt(`0x${hex}`) }) : hex;
}

function scriptArgs(work: PodWork): string[] {
  const args = [work.ifName ?? '', work.settle ? '1' : '0'];
  for (const s of work.sysctls ?? []) args.push(s.mode, s.key, s.value);
  return args;
}

/** Apply sysctls and ip commands inside the namespace at `netns`. */
export async function podBatch(netns: string, work: PodWork): Promise<void> {
  if (work.cmds.length === 0 && !work.sysctls?.length) return;
  const plain = !work.sysctls?.length && !work.settle && !work.ifName;
  const ifName = JSON.stringify(work.ifName ?? '');
  await runBatch(
    work.cmds,
    async (text) => {
      if (plain) return execTool(...ipIn(netns, ['-batch', '-']), text);
      const out = await execTool('nsenter', [...nsenterNet(netns), 'sh', '-c', SCRIPT, 'weft-pod', ...scriptArgs(work)], text);
      if (out.code === NO_LINK) throw new CniError(ErrorCode.Internal, `failed to lookup ${ifName}: Link not found`);
      if (out.code === SYSCTL_FAILED) {
        const key = /weft-sysctl (\S+)/.exec(out.stderr)?.[1] ?? '';
        const s = work.sysctls?.find((x) => x.key === key);
        const detail = `open /proc/sys/${key}: write failed`;
        throw s?.onError?.(detail) ?? new CniError(ErrorCode.Internal, `failed to set sysctl ${key}: ${detail}`);
      }
      if (out.code === DAD_FAILED) {
        const addr = hexIPv6(/weft-dadfailed (\S+)/.exec(out.stderr)?.[1] ?? '');
        throw new CniError(
          ErrorCode.Internal,
          `failed to settle addresses for ${ifName}: link ${work.ifName} has address ${addr} in DADFAILED state`,
        );
      }
      if (out.code === STILL_TENTATIVE) {
        throw new CniError(
          ErrorCode.Internal,
          `failed to settle addresses for ${ifName}: link ${work.ifName} still has tentative addresses after ${SETTLE_TIMEOUT_NS} seconds`,
        );
      }
      return out;
    },
    'nsenter',
  );
}

/** What CHECK needs to see inside a pod: links (with details), addresses, routes of all tables. */
export interface PodSnapshot {
  links: unknown[];
  addrs: unknown[];
  routes4: unknown[];
  routes6: unknown[];
}

export async function podSnapshot(netns: string): Promise<PodSnapshot> {
  const lines = ['link show', 'addr show', 'route show table all root 0.0.0.0/0', 'route show table all root ::/0'];
  const out = await execTool(...ipIn(netns, ['-d', '-j', '-batch', '-']), lines.join('\n') + '\n');
  if (out.code !== 0) throw new CniError(ErrorCode.Internal, `failed to read the pod's network state: ${out.stderr.trim()}`);
  const [links = [], addrs = [], routes4 = [], routes6 = []] = parseJsonArrays(out.stdout);
  return { links, addrs, routes4, routes6 };
}

/** Every address (without prefix) inside the namespace at `netns`; undefined when it cannot be looked into. */
export async function namespaceAddresses(netns: string): Promise<Set<string> | undefined> {
  const out = await execTool(...ipIn(netns, ['-j', 'addr', 'show']));
  if (out.code !== 0) return undefined;
  const [links = []] = parseJsonArrays(out.stdout);
  const addrs = (links as { addr_info?: { local?: string }[] }[]).flatMap((l) => l.addr_info ?? []).map((a) => a.local);
  return new Set(addrs.filter((a): a is string => a !== undefined));
}

/**
 * Delete `ifName` inside the pod (its veth peer goes with it).
 * Returns false when there was no such link.
 */
export async function deletePodLink(netns: string, ifName: string): Promise<boolean> {
  const out = await execTool(...ipIn(netns, ['link', 'del', 'dev', ifName]));
  if (out.code === 0) return true;
  // No such link, or the namespace vanished since it was checked: nothing left to delete.
  if (/Cannot find device|cannot open .*No such file or directory/i.test(out.stderr)) return false;
  throw new CniError(ErrorCode.Internal, `failed to delete ${JSON.stringify(ifName)}: ${out.stderr.trim()}`);
}
