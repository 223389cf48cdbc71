import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Netns, createNetns, shIn } from '../../helpers/netns.ts';
import { run } from '../../helpers/run.ts';
import { cniBin, tempDir } from '../../helpers/tmp.ts';

// A node for the reliability suite: a "host" network namespace where weft's
// flannel runs as the container runtime would run it (one exec per command,
// the CNI_* variables, the conf on stdin), delegating to weft's bridge and
// host-local, with every file it writes (subnet.env, flannel's saved
// configs, host-local's leases) in one temporary directory.

export const NETWORK = 'storm';
/** FLANNEL_IPMASQ=false: the bridge masquerades, so every pod also gets iptables rules to leak. */
const subnetEnv = (prefix: number) => `FLANNEL_NETWORK=10.250.0.0/16\nFLANNEL_SUBNET=10.250.3.1/${prefix}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`;

/** The smallest subnet of 10.250.3.0 whose range (all but network, gateway and broadcast) holds `n` pods. */
export function subnetFor(n: number): { prefix: number; capacity: number } {
  for (let prefix = 30; prefix >= 24; prefix--) {
    const capacity = 2 ** (32 - prefix) - 3;
    if (capacity >= n) return { prefix, capacity };
  }
  throw new Error(`no /24 or smaller subnet holds ${n} pods`);
}

export interface Pod {
  id: string;
  netns: string;
}

export interface CniRun {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
}

export interface WeftNode {
  host: Netns;
  dir: string;
  cniPath: string;
  flannelDir: string;
  leaseDir: string;
  /** The flannel conf as the runtime sends it. */
  conf: Record<string, unknown>;
  /** Run `dist/cni-bin/<type>` in the host namespace. */
  exec(type: string, command: string, pod: Pod, stdin?: string, extraEnv?: Record<string, string>): Promise<CniRun>;
  flannel(command: 'ADD' | 'DEL' | 'CHECK', pod: Pod): Promise<CniRun>;
  /** Lease files of the network: IP → content. */
  leases(): Map<string, string>;
  /** Every file under flannel's dataDir (saved configs and anything else). */
  scratchFiles(): string[];
  /** veth interfaces in the host namespace. */
  veths(): string[];
  /** iptables nat lines that mention a pod chain or container. */
  masqRules(): string[];
}

/** A CNI_PATH with weft's plugins (one executable, so delegates run in process). */
export function weftCniPath(types: readonly string[] = ['flannel', 'bridge', 'host-local']): string {
  const dir = tempDir('weft-rel-bin-');
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
  for (const t of types) fs.symlinkSync(path.join(cniBin, 'weft.cjs'), path.join(dir, t));
  return dir;
}

/** Runtime environment for one plugin exec, without NODE_EXTRA_CA_CERTS (80 ms per start). */
export function pluginEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...vars };
}

/** A node; `prefix` is its subnet's (default /24: 253 pods). */
export function weftNode(opts: { dir?: string; flannelDir?: string; leaseDir?: string; prefix?: number } = {}): WeftNode {
  const host = createNetns('wrh');
  const dir = opts.dir ?? tempDir('weft-rel-node-');
  const cniPath = weftCniPath();
  fs.writeFileSync(path.join(dir, 'subnet.env'), subnetEnv(opts.prefix ?? 24));
  const flannelDir = opts.flannelDir ?? path.join(dir, 'flannel');
  const leaseDir = opts.leaseDir ?? path.join(dir, 'leases');
  const conf = {
    cniVersion: '1.0.0',
    name: NETWORK,
    type: 'flannel',
    subnetFile: path.join(dir, 'subnet.env'),
    subnetFileWaitSeconds: 0,
    dataDir: flannelDir,
    ipam: { dataDir: leaseDir },
    delegate: { hairpinMode: true, isDefaultGateway: true },
  };
  const exec = async (type: string, command: string, pod: Pod, stdin = JSON.stringify(conf), extraEnv: Record<string, string> = {}): Promise<CniRun> => {
    const startedAt = Date.now();
    const r = await run('ip', ['netns', 'exec', host.name, path.join(cniPath, type)], {
      env: pluginEnv({
        CNI_COMMAND: command,
        CNI_CONTAINERID: pod.id,
        CNI_NETNS: pod.netns,
        CNI_IFNAME: 'eth0',
        CNI_PATH: cniPath,
        ...extraEnv,
      }),
      stdin,
    });
    return { ...r, startedAt, endedAt: Date.now() };
  };
  return {
    host,
    dir,
    cniPath,
    flannelDir,
    leaseDir,
    conf,
    exec,
    flannel: (command, pod) => exec('flannel', command, pod),
    leases: () => readLeases(path.join(leaseDir, NETWORK)),
    scratchFiles: () => listFiles(flannelDir),
    veths: () => shIn(host, 'ip -o link show type veth').split('\n').filter((l) => l.trim() !== ''),
    masqRules: () =>
      shIn(host, 'iptables-save -t nat')
        .split('\n')
        .filter((l) => /CNI-[0-9a-f]{24}/.test(l) || l.includes(`name: "${NETWORK}"`)),
  };
}

/** A lease file is named by an IP; the store's other files (lock, last_reserved_ip.N) are not leases. */
export const isLeaseName = (name: string): boolean => /^[0-9.]+$|^[0-9a-f:_]*:[0-9a-f:_]*$/i.test(name) && name !== 'lock';

export function readLeases(netDir: string): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = fs.readdirSync(netDir);
  } catch {
    return out;
  }
  for (const n of names.sort()) if (isLeaseName(n)) out.set(n, fs.readFileSync(path.join(netDir, n), 'utf8'));
  return out;
}

/** Every regular file below `dir`, relative to it. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Run `tasks` with at most `limit` in flight; results in task order. */
export async function bounded<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

/** The address (without prefix) of the pod interface in an ADD result. */
export function resultIP(stdout: string): string {
  const r = JSON.parse(stdout) as { ips?: { address: string }[] };
  const a = r.ips?.[0]?.address;
  if (!a) throw new Error(`no IP in result: ${stdout}`);
  return a.split('/')[0]!;
}

/** Pod namespaces, created up front. */
export function pods(prefix: string, n: number, from = 0): Pod[] {
  return Array.from({ length: n }, (_, i) => {
    const ns = createNetns('wrp');
    return { id: `${prefix}-${from + i}-${ns.name.slice(4)}`, netns: ns.path };
  });
}

export interface Killable {
  /**
   * SIGKILL the process and the tools it started (its process group), as a
   * crash of the plugin or a kill of its cgroup would: orphaned tools that
   * finish later would race the runtime's DEL, which no plugin can prevent.
   */
  kill(): void;
  done: Promise<CniRun>;
}

/** Start `file` with `argv` and a CNI environment; `killAfterMs` SIGKILLs it if still running then. */
export function spawnKillable(file: string, argv: string[], env: NodeJS.ProcessEnv, stdin: string, killAfterMs?: number): Killable {
  const startedAt = Date.now();
  const child = spawn(file, argv, { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(stdin);
  let exited = false;
  const kill = () => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  };
  const timer = killAfterMs === undefined ? undefined : setTimeout(kill, killAfterMs);
  const done = new Promise<CniRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, startedAt, endedAt: Date.now() });
    });
  });
  return { kill, done };
}
