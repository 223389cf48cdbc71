import fs from 'node:fs';
import path from 'node:path';
import { parseIP } from '../../../src/net/ip.ts';
import { cniPathDir } from '../../helpers/cnipath.ts';
import { type Netns, createNetns, ipJson, runIn } from '../../helpers/netns.ts';
import { cniEnv } from '../../helpers/run.ts';
import { tempDir, writeScript } from '../../helpers/tmp.ts';

// A bridge test rig: a "host" namespace where the plugin runs (bridge,
// veths and iptables rules land there), a CNI_PATH with weft's bridge and a
// host-local, and an IPAM data directory.

export interface Rig {
  host: Netns;
  bin: string;
  dataDir: string;
}

export function makeRig(extra: Record<string, string> = {}): Rig {
  return { host: createNetns('bh'), bin: cniPathDir({ extra }), dataDir: tempDir('weft-ipam-') };
}

export const NET = 'testConfig';
export const BRIDGE = 'bridge0';

type Json = Record<string, unknown>;

/** The reference tests' config: bridge0, host-local on one or more subnets. */
export function bridgeConf(rig: Rig, over: Json = {}, subnets: string[] = ['10.1.2.0/24']): Json {
  return {
    cniVersion: '1.0.0',
    name: NET,
    type: 'bridge',
    bridge: BRIDGE,
    ipam: { type: 'host-local', ranges: subnets.map((s) => [{ subnet: s }]), dataDir: rig.dataDir },
    ...over,
  };
}

export interface CniRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json?: Json;
}

export interface CallOpts {
  id?: string;
  ifName?: string;
  args?: string;
  plugin?: string;
}

export async function cni(rig: Rig, command: string, conf: Json, netns: Netns | string, opts: CallOpts = {}): Promise<CniRun> {
  const env = cniEnv({
    CNI_COMMAND: command,
    CNI_CONTAINERID: opts.id ?? 'dummy-0',
    CNI_NETNS: typeof netns === 'string' ? netns : netns.path,
    CNI_IFNAME: opts.ifName ?? 'eth0',
    CNI_PATH: rig.bin,
    ...(opts.args ? { CNI_ARGS: opts.args } : {}),
  });
  const r = await runIn(rig.host, path.join(rig.bin, opts.plugin ?? 'bridge'), [], { env, stdin: JSON.stringify(conf) });
  let json: Json | undefined;
  try {
    json = r.stdout ? (JSON.parse(r.stdout) as Json) : undefined;
  } catch {
    json = undefined;
  }
  return { ...r, json };
}

/** ADD that must succeed; returns the result. */
export async function add(rig: Rig, conf: Json, netns: Netns, opts: CallOpts = {}): Promise<Result> {
  const r = await cni(rig, 'ADD', conf, netns, opts);
  if (r.code !== 0) throw new Error(`ADD failed: ${r.stdout}${r.stderr}`);
  return r.json as unknown as Result;
}

export interface Result {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Json;
}

export interface LinkJson {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  operstate: string;
  master?: string;
  link_index?: number;
  promiscuity?: number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_slave_data?: Json; info_data?: Json };
}

export const links = (ns: Netns): LinkJson[] => ipJson<LinkJson[]>(ns, '-d', 'link', 'show');

export const link = (ns: Netns, name: string): LinkJson | undefined => links(ns).find((l) => l.ifname === name);

export interface AddrJson {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; scope: string; flags?: string[]; tentative?: boolean }[];
}

/** Addresses of one link as "ip/prefix" strings, in kernel order. */
export function addrs(ns: Netns, dev: string, family?: 'inet' | 'inet6'): string[] {
  const list = ipJson<AddrJson[]>(ns, 'addr', 'show', 'dev', dev);
  return (list[0]?.addr_info ?? []).filter((a) => !family || a.family === family).map((a) => `${a.local}/${a.prefixlen}`);
}

export interface RouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  scope?: string;
  nexthops?: { gateway: string }[];
}

export const routes = (ns: Netns, ...args: string[]): RouteJson[] => ipJson<RouteJson[]>(ns, ...args, 'route', 'show', 'table', 'all');

/** IP lease files of host-local in the rig's data dir. */
export function leases(rig: Rig, network = NET): string[] {
  const dir = path.join(rig.dataDir, network);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => parseIP(f) !== undefined);
}

/** An IPAM plugin that records each call ("ADD <stdin>") and fails the commands given with the error given. */
export function recordingIpam(exitFor: Record<string, string> = {}): { file: string; calls: () => string[] } {
  const dir = tempDir();
  const log = path.join(dir, 'calls');
  const cases = Object.entries(exitFor)
    .map(([cmd, out]) => `  ${cmd}) printf '%s' '${out}'; exit 1 ;;`)
    .join('\n');
  const file = writeScript(path.join(dir, 'rec-ipam'), `echo "$CNI_COMMAND $(cat)" >> ${log}\ncase "$CNI_COMMAND" in\n${cases}\nesac\nexit 0`);
  return { file, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []) };
}
