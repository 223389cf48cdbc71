import { DELEGATION_CHAIN_VAR, delegateChain } from './chain.ts';
import { confBytes, execPlugin, findInPath, pluginError, resultFromStdout, splitPathList } from './invoke.ts';
import { log } from './log.ts';
import type { AnyResult } from './result/types.ts';
import { step } from './profile.ts';
import { selfPlugin } from './self.ts';
import type { Env } from './env.ts';
import { runPlugin } from './skel.ts';

// Delegation (spec §4, pkg/invoke/delegate.go): find the plugin on CNI_PATH,
// run it with the caller's environment and only CNI_COMMAND changed. When the
// file found is weft itself, the plugin runs in this process through the very
// same protocol frame, so the outcome is byte for byte what an exec would give.

type DelegateCommand = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS';

export interface DelegateContext {
  env: Env;
  stderr?: (text: string) => void;
}

const defaultStderr = (text: string) => process.stderr.write(text);

async function delegate(command: DelegateCommand, type: string, conf: unknown, ctx: DelegateContext): Promise<Buffer> {
  const chain = delegateChain(ctx.env, type);
  const file = findInPath(type, splitPathList(ctx.env.CNI_PATH));
  const stdin = confBytes(conf);
  const env = { ...ctx.env, CNI_COMMAND: command, [DELEGATION_CHAIN_VAR]: chain };
  const stderr = ctx.stderr ?? defaultStderr;
  const plugin = await step(`load ${type}`, () => selfPlugin(file, type));
  if (plugin) {
    log.debug(`delegate ${command} in process`, { type });
    const outcome = await runPlugin(plugin, { env, readStdin: () => stdin, stderr });
    const stdout = Buffer.from(outcome.stdout);
    if (outcome.exitCode !== 0) throw pluginError('exit status 1', stdout, Buffer.alloc(0));
    return stdout;
  }
  log.debug(`delegate ${command} exec`, { type, file });
  return execPlugin(file, stdin, env as NodeJS.ProcessEnv, stderr);
}

export async function delegateAdd(type: string, conf: unknown, ctx: DelegateContext): Promise<AnyResult> {
  const stdin = confBytes(conf);
  const stdout = await delegate('ADD', type, stdin, ctx);
  return resultFromStdout(stdin, stdout);
}

export async function delegateCheck(type: string, conf: unknown, ctx: DelegateContext): Promise<void> {
  await delegate('CHECK', type, conf, ctx);
}

export async function delegateDel(type: string, conf: unknown, ctx: DelegateContext): Promise<void> {
  await delegate('DEL', type, conf, ctx);
}

export async function delegateGC(type: string, conf: unknown, ctx: DelegateContext): Promise<void> {
  await delegate('GC', type, conf, ctx);
}

export async function delegateStatus(type: string, conf: unknown, ctx: DelegateContext): Promise<void> {
  await delegate('STATUS', type, conf, ctx);
}

/**
 * DEL as the runtime would send it, with a delegation chain of its own: a
 * plugin finishing, in the runtime's place, an attachment the runtime lost.
 */
export async function runtimeDel(type: string, conf: unknown, ctx: DelegateContext): Promise<void> {
  const env = { ...ctx.env };
  delete env[DELEGATION_CHAIN_VAR];
  await delegate('DEL', type, conf, { ...ctx, env });
}
