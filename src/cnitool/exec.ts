import { execPlugin, resultFromStdout } from '../cni/invoke.ts';
import type { AnyResult } from '../cni/result/types.ts';
import { decodePluginVersionInfo } from '../cni/version.ts';
import type { CniConfig, RuntimeConf } from './runtime.ts';

// Running one plugin binary as a runtime does (pkg/invoke Args.AsEnv): the
// inherited environment with the six CNI_* variables set on top. A runtime
// always execs, even when the plugin is weft itself: that is what is under test.

export type Command = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS' | 'VERSION';

/** CNI_ARGS as libcni joins RuntimeConf.Args: K=V pairs separated by ";". */
export const joinCniArgs = (args: RuntimeConf['args']): string => (args ?? []).map(([k, v]) => `${k}=${v}`).join(';');

const pathListSeparator = process.platform === 'win32' ? ';' : ':';

/** The environment a plugin is exec'd with. */
export function pluginEnv(cni: CniConfig, command: Command, rt: Partial<RuntimeConf>, path?: string): NodeJS.ProcessEnv {
  return {
    ...(cni.env ?? process.env),
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId ?? '',
    CNI_NETNS: rt.netns ?? '',
    CNI_ARGS: joinCniArgs(rt.args),
    CNI_IFNAME: rt.ifName ?? '',
    CNI_PATH: path ?? cni.path.join(pathListSeparator),
  };
}

const stderrOf = (cni: CniConfig) => cni.stderr ?? ((text: string) => void process.stderr.write(text));

/** ExecPluginWithResult: run an ADD and read its result in the version it declares. */
export async function execWithResult(cni: CniConfig, file: string, conf: Buffer, rt: RuntimeConf): Promise<AnyResult> {
  const stdout = await execPlugin(file, conf, pluginEnv(cni, 'ADD', rt), stderrOf(cni));
  return resultFromStdout(conf, stdout);
}

/** ExecPluginWithoutResult: CHECK, DEL, GC or STATUS; stdout is ignored. */
export async function execWithoutResult(
  cni: CniConfig,
  command: Exclude<Command, 'ADD' | 'VERSION'>,
  file: string,
  conf: Buffer,
  rt: Partial<RuntimeConf>,
): Promise<void> {
  await execPlugin(file, conf, pluginEnv(cni, command, rt), stderrOf(cni));
}

/**
 * GetVersionInfo: the versions a plugin supports. Placeholder values stand in
 * for the variables old skel versions insist on; a plugin that predates
 * VERSION supports 0.1.0 only.
 */
export async function getVersionInfo(cni: CniConfig, file: string): Promise<string[]> {
  const env = pluginEnv(cni, 'VERSION', { netns: 'dummy', ifName: 'dummy' }, 'dummy');
  let stdout: Buffer;
  try {
    stdout = await execPlugin(file, Buffer.from('{"cniVersion":"1.1.0"}'), env, stderrOf(cni));
  } catch (e) {
    if ((e as Error).message === 'unknown CNI_COMMAND: VERSION') return ['0.1.0'];
    throw e;
  }
  return decodePluginVersionInfo(stdout);
}
