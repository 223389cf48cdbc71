import crypto from 'node:crypto';
import path from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { splitPathList } from '../cni/invoke.ts';
import { isPlainObject, parseJson } from '../cni/json.ts';
import type { Env } from '../cni/env.ts';
import type { CniConfig, RuntimeConf } from './runtime.ts';

// How cnitool (upstream 1.3) turns its environment and arguments into a
// runtime request: NETCONFPATH, CNI_PATH, CNI_CACHE_DIR, CNI_ARGS, CAP_ARGS,
// CNI_IFNAME, and a container ID derived from the netns path.

export const DEFAULT_NET_DIR = '/etc/cni/net.d';

export const VERBS = ['add', 'check', 'del', 'gc', 'status'] as const;

/** The usage text, with the name cnitool was run as: upstream's, then weft's operator commands. */
export function usage(exe: string): string {
  return (
    `${exe}: Add, check, remove, gc or status network interfaces from a network namespace\n` +
    VERBS.map((v) => `  ${exe} ${v.padEnd(6)} <net> <netns>\n`).join('') +
    `weft's additions:\n` +
    `  ${exe} attachments <net>   list the attachments of <net> on this node: container, addresses, namespace, alive or dead\n` +
    `  ${exe} reclaim     <net>   DEL the attachments of <net> whose pod's network namespace is gone\n`
  );
}

/** NETCONFPATH, or /etc/cni/net.d when unset or empty. */
export const netConfDir = (env: Env): string => env.NETCONFPATH || DEFAULT_NET_DIR;

/** cnitool's own CNI_ARGS parser: every pair is exactly K=V with neither side empty. */
export function parseCniArgs(text: string): Array<[string, string]> {
  if (text === '') return [];
  return text.split(';').map((pair) => {
    const kv = pair.split('=');
    if (kv.length !== 2 || kv[0] === '' || kv[1] === '') {
      throw new CniError(ErrorCode.InvalidEnvironmentVariables, `invalid CNI_ARGS pair ${JSON.stringify(pair)}`);
    }
    return [kv[0]!, kv[1]!];
  });
}

/** CAP_ARGS: a JSON object of capability args (null or empty means none). */
export function parseCapArgs(text: string): Record<string, unknown> | undefined {
  if (text === '') return undefined;
  let doc: unknown;
  try {
    doc = parseJson(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, (e as Error).message);
  }
  if (doc === null) return undefined;
  if (!isPlainObject(doc)) {
    const kind = Array.isArray(doc) ? 'array' : typeof doc === 'boolean' ? 'bool' : typeof doc;
    throw new CniError(ErrorCode.DecodingFailure, `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`);
  }
  return doc;
}

/** cnitool's container ID: "cnitool-" and the first 10 bytes of SHA-512 of the absolute netns path, in hex. */
export const containerIdFor = (netnsPath: string): string =>
  `cnitool-${crypto.createHash('sha512').update(netnsPath).digest().subarray(0, 10).toString('hex')}`;

/** An HNS namespace ID, the form a Windows netns takes (braces allowed, as HNS writes them). */
const NAMESPACE_GUID = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i;

/**
 * The netns cnitool passes on: a path made absolute, as upstream does, except
 * on Windows, where a namespace is a GUID and a path made of it (C:\<guid>)
 * names nothing the plugins can find.
 */
export function netnsFromArg(netnsArg: string, cwd = process.cwd(), platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32' && NAMESPACE_GUID.test(netnsArg)) return netnsArg;
  return path.resolve(cwd, netnsArg);
}

/** The runtime request cnitool makes for `netnsArg` in this environment. */
export function runtimeFromEnv(env: Env, netnsArg: string, cwd = process.cwd(), platform: NodeJS.Platform = process.platform): RuntimeConf {
  const capabilityArgs = parseCapArgs(env.CAP_ARGS ?? '');
  const args = parseCniArgs(env.CNI_ARGS ?? '');
  // Unset means eth0; set but empty stays empty (and ADD will say so).
  const ifName = env.CNI_IFNAME ?? 'eth0';
  const netns = netnsFromArg(netnsArg, cwd, platform);
  const rt: RuntimeConf = { containerId: containerIdFor(netns), netns, ifName, args };
  if (capabilityArgs) rt.capabilityArgs = capabilityArgs;
  return rt;
}

/** Where plugins and the cache are, and what the plugins inherit. */
export function cniConfigFromEnv(env: Env, stderr: (text: string) => void): CniConfig {
  const cni: CniConfig = { path: splitPathList(env.CNI_PATH), env, stderr };
  if (env.CNI_CACHE_DIR) cni.cacheDir = env.CNI_CACHE_DIR;
  return cni;
}
