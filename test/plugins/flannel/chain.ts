import fs from 'node:fs';
import path from 'node:path';
import type { Netns } from '../../helpers/netns.ts';
import { type RunResult, run } from '../../helpers/run.ts';
import { tempDir } from '../../helpers/tmp.ts';

// A node as the flannel integration tests see it, and a small stand-in for a
// libcni runtime driving a conflist through it. (weft's cnitool is being
// written in parallel; the lead will switch these tests to it.)
//
// Each plugin runs inside the test's host netns and in a private mount
// namespace where /run and /var/lib are fresh tmpfs with /run/flannel and
// /var/lib/cni bound to test directories. So kube-flannel's conf runs
// unchanged, defaults and all (/run/flannel/subnet.env, /var/lib/cni/flannel,
// /var/lib/cni/networks/cbr0), without touching the machine's own files.

const PRIVATE_FS = `
set -e
node_dir="$1"; shift
mount --bind "$WEFT_POD_NETNS" "$node_dir/podns"
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
  exec(file: string, env: Record<string, string>, stdin: string): Promise<RunResult>;
}

export function makeNode(host: Netns, pod: Netns): Node {
  const dir = tempDir('weft-node-');
  const node: Node = {
    dir,
    runFlannel: path.join(dir, 'run-flannel'),
    varLibCni: path.join(dir, 'var-lib-cni'),
    podNetnsPath: path.join(dir, 'podns'),
    exec: (file, env, stdin) =>
      run('ip', ['netns', 'exec', host.name, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', PRIVATE_FS, 'sh', dir, file], {
        env: { PATH: process.env.PATH, ...env, WEFT_POD_NETNS: pod.path },
        stdin,
      }),
  };
  fs.mkdirSync(node.runFlannel);
  fs.mkdirSync(node.varLibCni);
  fs.writeFileSync(node.podNetnsPath, '');
  return node;
}

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export interface Attachment {
  containerId: string;
  ifName: string;
  /** CNI_ARGS as kubelet sends them. */
  args: string;
  capabilityArgs: Record<string, unknown>;
}

/** A plugin failed: its error object and stderr. */
export class PluginFailure extends Error {
  constructor(
    readonly type: string,
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`${type} ${command} failed (exit ${result.code}): ${result.stdout} ${result.stderr}`);
  }
}

/** libcni's buildOneConfig: name and cniVersion from the list, prevResult, and the runtimeConfig the plugin asked for. */
function pluginConf(list: ConfList, plugin: Record<string, unknown>, prevResult: unknown, att: Attachment): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(caps)) if (on && att.capabilityArgs[cap] !== undefined) runtimeConfig[cap] = att.capabilityArgs[cap];
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

async function invoke(node: Node, cniPath: string, command: string, conf: Record<string, unknown>, att: Attachment): Promise<string> {
  const type = conf.type as string;
  const r = await node.exec(
    path.join(cniPath, type),
    {
      CNI_COMMAND: command,
      CNI_CONTAINERID: att.containerId,
      CNI_NETNS: node.podNetnsPath,
      CNI_IFNAME: att.ifName,
      CNI_ARGS: att.args,
      CNI_PATH: cniPath,
    },
    JSON.stringify(conf),
  );
  if (r.code !== 0) throw new PluginFailure(type, command, r);
  return r.stdout;
}

/** AddNetworkList: each plugin in order, each one's result the next one's prevResult. */
export async function addNetworkList(node: Node, cniPath: string, list: ConfList, att: Attachment): Promise<Record<string, unknown>> {
  let prev: Record<string, unknown> | undefined;
  for (const plugin of list.plugins) {
    prev = JSON.parse(await invoke(node, cniPath, 'ADD', pluginConf(list, plugin, prev, att), att)) as Record<string, unknown>;
  }
  return prev!;
}

/** DelNetworkList: each plugin in reverse order, with the cached result as prevResult. */
export async function delNetworkList(node: Node, cniPath: string, list: ConfList, att: Attachment, cached: unknown): Promise<void> {
  for (const plugin of [...list.plugins].reverse()) await invoke(node, cniPath, 'DEL', pluginConf(list, plugin, cached, att), att);
}

/** Run one plugin of the node by hand. */
export const invokePlugin = invoke;
