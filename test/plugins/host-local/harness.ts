import fs from 'node:fs';
import path from 'node:path';
import { runPlugin } from '../../../src/cni/skel.ts';
import { plugin } from '../../../src/plugins/host-local/index.ts';
import { run } from '../../helpers/run.ts';
import { cniBin } from '../../helpers/tmp.ts';

// Drives host-local the way the reference tests do (container "dummy",
// interface eth0, a netns path that does not exist), in process or as the
// built executable, and reads the store it leaves.

export interface CallOptions {
  containerId?: string;
  ifName?: string;
  args?: string;
}

export interface Outcome {
  exitCode: number;
  stdout: string;
  /** The parsed stdout (a result or an error object), when there is any. */
  json: Record<string, unknown> | undefined;
}

const envFor = (command: string, o: CallOptions) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: o.containerId ?? 'dummy',
  CNI_NETNS: '/some/where',
  CNI_IFNAME: o.ifName ?? 'eth0',
  CNI_PATH: cniBin,
  CNI_ARGS: o.args ?? '',
  CNI_NETNS_OVERRIDE: '1',
});

const outcome = (exitCode: number, stdout: string): Outcome => ({
  exitCode,
  stdout,
  json: stdout ? (JSON.parse(stdout) as Record<string, unknown>) : undefined,
});

/** One invocation through the protocol frame, in this process. */
export async function cni(command: string, conf: unknown, o: CallOptions = {}): Promise<Outcome> {
  const r = await runPlugin(plugin, {
    env: envFor(command, o),
    readStdin: () => Buffer.from(typeof conf === 'string' ? conf : JSON.stringify(conf)),
    stderr: () => {},
  });
  return outcome(r.exitCode, r.stdout);
}

/** One invocation of an executable (weft's build or the reference plugin). */
export async function exec(bin: string, command: string, conf: unknown, o: CallOptions = {}): Promise<Outcome> {
  const r = await run(bin, [], {
    env: { PATH: process.env.PATH, ...envFor(command, o) },
    stdin: typeof conf === 'string' ? conf : JSON.stringify(conf),
  });
  return outcome(r.code ?? -1, r.stdout);
}

export const WEFT = path.join(cniBin, 'host-local');
export const REFERENCE = '/usr/lib/cni/host-local';

/** The lease files of a network: IP → content. */
export function leases(dataDir: string, network: string): Record<string, string> {
  const dir = path.join(dataDir, network);
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir)) {
    if (name === 'lock' || name.startsWith('last_reserved_ip.')) continue;
    out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
  }
  return out;
}

/** The addresses (without prefix) of an ADD result of any version. */
export function resultIPs(json: Record<string, unknown> | undefined): string[] {
  if (!json) return [];
  if (Array.isArray(json.ips)) return (json.ips as { address: string }[]).map((i) => i.address.split('/')[0]!);
  return (['ip4', 'ip6'] as const)
    .map((k) => (json[k] as { ip?: string } | undefined)?.ip)
    .filter((x): x is string => !!x)
    .map((a) => a.split('/')[0]!);
}
