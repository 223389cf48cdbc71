import fs from 'node:fs';
import { marshal } from './json.ts';
import { goPathError } from './oserror.ts';

// Diagnostics never go to stdout (it carries the one CNI result). Off by
// default; WEFT_LOG_FILE / WEFT_LOG_LEVEL, or the `logFile` / `logLevel` keys of
// a plugin's config, switch it on. "stderr" as the file means standard error.

const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
export type LogLevel = keyof typeof LEVELS;

interface Sink {
  write(line: string): void;
}

let sink: Sink | undefined;
let threshold: number = LEVELS.info;
let component = 'weft';

const isLevel = (s: string | undefined): s is LogLevel => s !== undefined && Object.hasOwn(LEVELS, s);

function openSink(target: string): Sink | undefined {
  if (target === 'stderr') return { write: (line) => process.stderr.write(line) };
  try {
    // Opening a FIFO for writing waits for a reader: a log must never hold up a pod.
    if (fs.statSync(target, { throwIfNoEntry: false })?.isFIFO()) throw new Error('a named pipe');
    const fd = fs.openSync(target, 'a', 0o600);
    return {
      write: (line) => {
        try {
          fs.writeSync(fd, line);
        } catch {
          // A log that cannot be written (disk full) must not fail the command it describes.
        }
      },
    };
  } catch (e) {
    process.stderr.write(`weft: cannot open log file: ${goPathError('open', target, e)}\n`);
    return undefined;
  }
}

/** Set up logging for this invocation. The environment wins over the config. */
export function configureLog(opts: { env?: string; envLevel?: string; file?: unknown; level?: unknown }): void {
  const target = opts.env || (typeof opts.file === 'string' ? opts.file : '');
  const level = opts.envLevel || (typeof opts.level === 'string' ? opts.level : '');
  if (isLevel(level)) threshold = LEVELS[level];
  if (target && !sink) sink = openSink(target);
}

/** Name the plugin that is running; returns the previous name (plugins nest in process). */
export function setLogComponent(name: string): string {
  const prev = component;
  component = name;
  return prev;
}

function emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (!sink || LEVELS[level] > threshold) return;
  let line = `${new Date().toISOString()} ${component}[${process.pid}] ${level.toUpperCase()} ${msg}`;
  if (fields) {
    for (const [k, v] of Object.entries(fields)) line += ` ${k}=${v === undefined ? 'undefined' : marshal(v)}`;
  }
  sink.write(`${line}\n`);
}

export const log = {
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  get enabled(): boolean {
    return sink !== undefined;
  },
};
