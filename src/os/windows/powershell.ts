import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { getSelfPath } from '../../cni/self.ts';
import type { Env } from '../../cni/env.ts';
import type { Plan } from './plan-language.ts';

// The one way weft runs PowerShell: the shipped script, started once per CNI
// command with a fixed command line; the plan travels as JSON in an
// environment variable and the answer comes back as one JSON document. No
// input ever reaches the command line or the script text.

export const SCRIPT_NAME = 'weft-hns.ps1';
export const REQUEST_VAR = 'WEFT_HNS_REQUEST';
export const DEFAULT_POWERSHELL = 'powershell.exe';

/**
 * $WEFT_POWERSHELL, else Windows PowerShell where Windows keeps it: a PATH
 * search for a program that runs as SYSTEM could find a planted one, and a
 * service's PATH may not list it at all.
 */
export function powershellPath(env: Env): string {
  if (env.WEFT_POWERSHELL) return env.WEFT_POWERSHELL;
  const root = env.SystemRoot ?? env.SYSTEMROOT;
  return root ? path.win32.join(root, 'System32', 'WindowsPowerShell', 'v1.0', DEFAULT_POWERSHELL) : DEFAULT_POWERSHELL;
}

/**
 * -File (not -Command -) because Windows PowerShell 5.1 mis-reads multi-line
 * scripts piped to stdin; the script ships beside weft's executable.
 */
export const powershellArgs = (script: string): string[] => [
  '-NoProfile',
  '-NonInteractive',
  '-ExecutionPolicy',
  'Bypass',
  '-File',
  script,
];

// Windows caps one environment variable at 32767 UTF-16 units.
const MAX_REQUEST_CHARS = 32_000;
const MAX_STDERR_IN_ERROR = 2000;

const FailureSchema = z.object({
  step: z.nullable(z.string()),
  hr: z.nullable(z.number()),
  message: z.nullable(z.string()),
  record: z.nullable(z.string()),
});

const AnswerSchema = z.object({
  ok: z.boolean(),
  native: z.optional(z.nullable(z.enum(['precompiled', 'compiled']))),
  outputs: z.record(z.string(), z.unknown()),
  ran: z.array(z.string()),
  stopped: z.nullable(z.string()),
  error: z.nullable(FailureSchema),
  tolerated: z.array(FailureSchema),
  undone: z.array(z.extend(FailureSchema, { ok: z.boolean() })),
});

export type PlanFailure = z.infer<typeof FailureSchema>;
export type PlanAnswer = z.infer<typeof AnswerSchema>;

export interface RunOptions {
  env: Env;
  /** Kill PowerShell after this long (HNS calls can hang). */
  timeoutMs: number;
}

/**
 * PowerShell started but gave no answer: it was killed on the timeout or died.
 * HNS may have acted on the plan, so the caller must find out what it did.
 */
export class NoAnswerError extends CniError {}

/** Where the script is: beside weft's own executable. */
export function scriptPath(): string {
  const self = getSelfPath();
  if (!self) throw new CniError(ErrorCode.Internal, `cannot locate ${SCRIPT_NAME}: the path of weft's executable is unknown`);
  const file = path.join(path.dirname(self), SCRIPT_NAME);
  if (!fs.existsSync(file)) {
    throw new CniError(ErrorCode.Internal, `${file} is missing: it ships beside weft's executable and does the HNS work`);
  }
  return file;
}

/** The environment PowerShell gets: weft's, without the CNI variables, plus the request. */
function childEnv(env: Env, request: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !k.startsWith('CNI_')) out[k] = v;
  out[REQUEST_VAR] = request;
  return out;
}

function lastJsonLine(stdout: string): string | undefined {
  const lines = stdout.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines[lines.length - 1];
}

/** Run `plan` in one PowerShell process and return its answer. */
export async function runPlan(plan: Plan, opts: RunOptions): Promise<PlanAnswer> {
  const request = JSON.stringify(plan);
  if (request.length > MAX_REQUEST_CHARS) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `the HNS request is ${request.length} characters, over the ${MAX_REQUEST_CHARS} an environment variable can carry: too many or too large policies`,
    );
  }
  const exe = powershellPath(opts.env);
  const args = powershellArgs(scriptPath());
  log.debug('hns plan', { powershell: exe, request });
  const { stdout, stderr, status } = await spawnOnce(exe, args, childEnv(opts.env, request), opts.timeoutMs);
  const line = lastJsonLine(stdout);
  let answer: PlanAnswer | undefined;
  if (line !== undefined) {
    try {
      const parsed = AnswerSchema.safeParse(JSON.parse(line));
      if (parsed.success) answer = parsed.data;
    } catch {
      // reported below with the process's own words
    }
  }
  if (!answer) {
    const said = stderr.trim().slice(0, MAX_STDERR_IN_ERROR);
    throw new NoAnswerError(
      ErrorCode.Internal,
      `${exe} running ${SCRIPT_NAME} gave no answer (${status})`,
      said ? `stderr: ${said}` : stdout.trim().slice(0, MAX_STDERR_IN_ERROR),
    );
  }
  log.debug('hns answer', { answer: line });
  return answer;
}

interface Spawned {
  stdout: string;
  stderr: string;
  status: string;
}

/** Why a PowerShell could not be started, in weft's words (not Node's). */
function cannotStart(exe: string, e: NodeJS.ErrnoException): CniError {
  const why =
    e.code === 'ENOENT'
      ? 'it does not exist'
      : e.code === 'EACCES' || e.code === 'EPERM'
        ? 'it is not an executable this user may run'
        : `the system refused (${e.code ?? 'unknown error'})`;
  return new CniError(
    ErrorCode.Internal,
    `cannot start PowerShell ${exe}: ${why}; weft runs Windows PowerShell from %SystemRoot%\\System32\\WindowsPowerShell\\v1.0 unless WEFT_POWERSHELL names another`,
  );
}

function spawnOnce(exe: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(exe, args, { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      reject(cannotStart(exe, e as NodeJS.ErrnoException));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const settle = (status: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status });
    };
    // Do not wait for the pipes to close: a child of PowerShell may hold them open.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      settle(`killed after ${timeoutMs} ms without an answer`);
    }, timeoutMs);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(cannotStart(exe, e));
    });
    child.on('close', (code, signal) => settle(signal ? `signal ${signal}` : `exit status ${code}`));
  });
}
