import fs from 'node:fs';
import path from 'node:path';
import type { Netns } from '../../helpers/netns.ts';
import { type RunResult, run } from '../../helpers/run.ts';
import { tempDir } from '../../helpers/tmp.ts';

// A node as the integration tests see it, driven the way a container
// runtime drives it: weft's cnitool loads the configuration from a net.d
// directory and execs the plugins, caching results like libcni.
//
// Each plugin runs inside the test's host netns and in a private mount
// namespace where /run and /var/lib are fresh tmpfs with /run/flannel and
// /var/lib/cni bound to test directories. So kube-flannel's conf runs
// unchanged, defaults and all (/run/flannel/subnet.env, /var/lib/cni/flannel,
// /var/lib/cni/networks/cbr0), without touching the machine's own files.
// More pods are bound at <dir>/pods/<namespace name>, each while its
// namespace exists (a pod whose namespace is gone leaves an empty file, or
// no file once the test removes it).

const PRIVATE_FS = `
set -e
node_dir="$1"; shift
mount --bind "$WEFT_POD_NETNS" "$node_dir/podns"
for f in "$node_dir"/pods/*; do
  if [ -e "/run/netns/\${f##*/}" ]; then mount --bind "/run/netns/\${f##*/}" "$f"; fi
done
mount -t tmpfs weft-run /run
mkdir -p /run/flannel
mount --bind "$node_dir/run-flannel" /run/flannel
mount -t tmpfs weft-var-lib /var/lib
mkdir -p /var/lib/cni
mount --bind "$node_dir/var-lib-cni" /var/lib/cni
exec "$@"
`;

export interface Node {
  dir: string;
  /** The node's /run/flannel, seen from outside. */
  runFlannel: string;
  /** The node's /var/lib/cni, seen from outside. */
  varLibCni: string;
  /** The pod netns path plugins see (a bind mount of the pod namespace). */
  podNetnsPath: string;
  exec(file: string, env: Record<string, string>, stdin: string, args?: string[]): Promise<RunResult>;
  /** Bind another pod namespace into the node; returns the netns path plugins see. */
  addPod(pod: Netns): string;
}

export function makeNode(host: Netns, pod: Netns): Node {
  const dir = tempDir('weft-node-');
  const node: Node = {
    dir,
    runFlannel: path.join(dir, 'run-flannel'),
    varLibCni: path.join(dir, 'var-lib-cni'),
    podNetnsPath: path.join(dir, 'podns'),
    exec: (file, env, stdin, args = []) =>
      run('ip', ['netns', 'exec', host.name, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', PRIVATE_FS, 'sh', dir, file, ...args], {
        env: { PATH: process.env.PATH, ...env, WEFT_POD_NETNS: pod.path },
        stdin,
      }),
    addPod: (p) => {
      const file = path.join(dir, 'pods', p.name);
      fs.writeFileSync(file, '');
      return file;
    },
  };
  fs.mkdirSync(path.join(dir, 'pods'));
  fs.mkdirSync(node.runFlannel);
  fs.mkdirSync(node.varLibCni);
  fs.writeFileSync(node.podNetnsPath, '');
  return node;
}

export interface CnitoolCall {
  /** The directory holding the network configuration files (NETCONFPATH). */
  confDir: string;
  /** CNI_PATH: weft's and the reference plugins, and cnitool itself. */
  cniPath: string;
  network: string;
  /** CNI_ARGS as kubelet would send them. */
  args?: string;
  /** Capability args (CAP_ARGS), e.g. portMappings. */
  capabilityArgs?: Record<string, unknown>;
}

/** `cnitool <verb> <network> <pod netns>` on the node (the first pod's unless named), with the results cached in the node's /var/lib/cni. */
export function cnitool(node: Node, verb: 'add' | 'check' | 'del' | 'gc' | 'status', call: CnitoolCall, netns = node.podNetnsPath): Promise<RunResult> {
  const env: Record<string, string> = { NETCONFPATH: call.confDir, CNI_PATH: call.cniPath };
  if (call.args) env.CNI_ARGS = call.args;
  if (call.capabilityArgs) env.CAP_ARGS = JSON.stringify(call.capabilityArgs);
  return node.exec(path.join(call.cniPath, 'cnitool'), env, '', [verb, call.network, netns]);
}

/** weft's operator commands, `cnitool attachments|reclaim <network>`, on the node. */
export function cnitoolOperator(node: Node, verb: 'attachments' | 'reclaim', call: CnitoolCall): Promise<RunResult> {
  return node.exec(path.join(call.cniPath, 'cnitool'), { NETCONFPATH: call.confDir, CNI_PATH: call.cniPath }, '', [verb, call.network]);
}

/** Write one configuration file into a fresh net.d directory. */
export function netDir(file: string, content: string): string {
  const dir = tempDir('weft-netd-');
  fs.writeFileSync(path.join(dir, file), content);
  return dir;
}
