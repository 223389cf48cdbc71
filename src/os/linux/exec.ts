import { spawn } from 'node:child_process';
import os from 'node:os';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { errnoText } from '../../cni/oserror.ts';
import { begin } from '../../cni/profile.ts';

// The one place weft's Linux code starts a process (ip, nsenter, iptables,
// nft). Every kernel change goes through here, so one debug log line per
// spawn tells an operator exactly what an ADD or DEL cost.

export interface ToolOutput {
  /** Exit status; a signal counts as 128 + its number, like a shell reports it. */
  code: number;
  stdout: string;
  stderr: string;
}

// iproute2 and iptables print the same words in any locale, but a user's
// LANG must never change what weft parses. A runtime that starts plugins
// with an empty environment still gets the tools from the usual places.
// (Built once: copying process.env is not free.)
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
let env: NodeJS.ProcessEnv | undefined;
const toolEnv = (): NodeJS.ProcessEnv => (env ??= { ...process.env, PATH: process.env.PATH || DEFAULT_PATH, LC_ALL: 'C' });

const SIGNAL_BASE = 128;

/** Run `file` with `args` and optional stdin; never rejects on a non-zero exit. */
export function execTool(file: string, args: readonly string[], stdin = ''): Promise<ToolOutput> {
  // A multi-line argument is a script of ours; the log names it, not its text.
  log.debug('exec', { file, args: args.map((a) => (a.includes('\n') ? '<script>' : a)) });
  const ended = begin(`process ${processLabel(file, args)}`);
  return new Promise<ToolOutput>((resolve, reject) => {
    const child = spawn(file, args, { env: toolEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'executable file not found in $PATH' : errnoText(e);
      reject(new CniError(ErrorCode.Internal, `exec: ${JSON.stringify(file)}: ${why}`));
    });
    // A tool may exit before reading all of stdin; its exit status tells the story.
    child.stdin.on('error', () => {});
    child.on('close', (code, signal) => {
      const status = code ?? SIGNAL_BASE + (signal ? signalNumber(signal) : 0);
      resolve({ code: status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.end(stdin);
  }).finally(ended);
}

/** What a profile calls a process: the tool and its words, without paths and scripts. */
const processLabel = (file: string, args: readonly string[]): string =>
  [file, ...args.filter((a) => a !== '--' && a !== '-' && !a.startsWith('--net=') && !a.includes('\n'))].slice(0, 5).join(' ');

const signalNumber = (signal: NodeJS.Signals): number => os.constants.signals[signal] ?? 0;
