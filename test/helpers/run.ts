import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { afterAll, afterEach } from 'vitest';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Every process a test starts is the leader of its own process group, and a
// group still running when the test ends (it failed or timed out) is killed
// with everything it started: no test leaves a process behind.
const owned = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

/** Start a process the current test owns: it and its descendants die with the test. */
export function startOwned(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { ...opts, detached: true });
  owned.add(child);
  child.on('close', () => owned.delete(child));
  return child;
}

function killOwned(): void {
  for (const child of owned) killGroup(child);
}

afterEach(killOwned);
afterAll(killOwned);

/**
 * Run a command with stdin and a given environment; never rejects on a non-zero exit.
 * With `timeoutMs`, the command and what it started are killed then (code null).
 */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: string | Buffer; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = startOwned(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => killGroup(child), opts.timeoutMs);
    child.on('error', reject);
    child.stdin!.on('error', () => {});
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(opts.stdin ?? '');
  });
}

/** The environment a CNI plugin gets, on top of PATH only. */
export function cniEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...vars };
}
