import fs from 'node:fs';

// WEFT_PROFILE=<file>: where one command's time went. Each step (a verb, the
// store's lock, a spawned process, an fsync) is recorded with its start, its
// end and how long the thread sat idle in it (waiting for a process or the
// kernel), and at exit one JSON document is appended to the file, for
// `npm run bench` to turn into its profile table. Off, a step costs one
// branch: the clock and the performance module are never touched.

/** [name, start ms, end ms, idle ms, main thread's CPU ms], times from Node's time origin. */
export type Step = [string, number, number, number, number];

export interface ProfileDoc {
  pid: number;
  /** Node's time origin, ms since the epoch (the parent compares it with when it spawned). */
  origin: number;
  /** Node's own milestones, ms from the origin. */
  node: { v8Start: number; environment: number; bootstrapComplete: number };
  steps: Step[];
}

/** process.hrtime.bigint() values the entry took before the bundle could: at entry, compiled, evaluated. */
export interface EntryMarks {
  entry: bigint;
  compiled: bigint;
  evaluated: bigint;
}

const target = process.env.WEFT_PROFILE;
export const profiling = target !== undefined && target !== '';

const steps: Step[] = [];

const idleMs = (): number => performance.eventLoopUtilization().idle;

// The main thread's CPU time (a busy machine stretches wall time, hardly this);
// Node 20 has only the process's, which includes V8's helper threads.
const cpuMs = (): number => {
  const u = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage?.() ?? process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Take the clocks at a step's start; the returned function records the step. */
function clocks(name: string): () => void {
  const start = performance.now();
  const idle = idleMs();
  const cpu = cpuMs();
  return () => {
    steps.push([name, start, performance.now(), idleMs() - idle, cpuMs() - cpu]);
  };
}

/** Record `fn` as a step named `name` (a promise counts until it settles). */
export function step<T>(name: string, fn: () => T): T {
  if (!profiling) return fn();
  const done = clocks(name);
  let out: T;
  try {
    out = fn();
  } catch (e) {
    done();
    throw e;
  }
  if (out instanceof Promise) return out.finally(done) as T;
  done();
  return out;
}

/** Start a step that ends when the returned function is called (a child process). */
export function begin(name: string): () => void {
  return profiling ? clocks(name) : noop;
}

const noop = (): void => {};

/** The entry's marks as steps, and the document written at exit. */
export function startProfile(marks: EntryMarks | undefined): void {
  if (!profiling) return;
  if (marks) {
    // hrtime and performance.now() run on the same clock; only their zero differs.
    const zero = Number(process.hrtime.bigint()) / 1e6 - performance.now();
    const at = (t: bigint) => Number(t) / 1e6 - zero;
    // All CPU (nothing waits here); the entry's clock readings are wall time only.
    steps.push(['compile bundle', at(marks.entry), at(marks.compiled), 0, at(marks.compiled) - at(marks.entry)]);
    steps.push(['evaluate bundle', at(marks.compiled), at(marks.evaluated), 0, at(marks.evaluated) - at(marks.compiled)]);
  }
  process.once('exit', () => {
    const t = performance.nodeTiming;
    const doc: ProfileDoc = {
      pid: process.pid,
      origin: performance.timeOrigin,
      node: { v8Start: t.v8Start, environment: t.environment, bootstrapComplete: t.bootstrapComplete },
      steps,
    };
    try {
      fs.appendFileSync(target!, `${JSON.stringify(doc)}\n`);
    } catch {
      // A profile that cannot be written must not change the command's outcome.
    }
  });
}
