import fs from 'node:fs';
import { type EntryMarks, startProfile, step } from '../src/cni/profile.ts';
import { setSelf } from '../src/cni/self.ts';
import { type Plugin, runPlugin } from '../src/cni/skel.ts';
import { PLUGIN_TYPES, loadPlugin } from '../src/plugins/registry.ts';
import { answerVersion, commandOf, currentInvocation, isVersionProbe, writeAll } from './invocation.ts';

// One executable, many names: `flannel`, `host-local`, `bridge`,
// `win-bridge`, `win-overlay` run that CNI plugin; `cnitool` runs the
// harness. Invoked under another name, the first argument picks.
// The entry files (weft.ts, weft-sea.ts) only decide when this runs.

async function readStdin(): Promise<Buffer> {
  try {
    return fs.readFileSync(0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
  }
  // A non-blocking stdin cannot be read synchronously; stream it instead.
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function runAsPlugin(plugin: Plugin): Promise<number> {
  const outcome = await runPlugin(plugin, {
    env: process.env,
    readStdin: () => step('read stdin', readStdin),
    stderr: (text) => writeAll(2, text),
  });
  if (outcome.stdout) step('write result', () => writeAll(1, outcome.stdout));
  return outcome.exitCode;
}

/** weft's own cnitool commands (bin/operator.ts), loaded only when asked for. */
const OPERATOR_VERBS: ReadonlySet<string> = new Set(['attachments', 'reclaim']);

async function runCnitool(args: string[]): Promise<number> {
  const io = { stdout: (t: string) => writeAll(1, t), stderr: (t: string) => writeAll(2, t) };
  if (OPERATOR_VERBS.has(args[0] ?? '')) return (await import('./operator.ts')).runOperator(args, io);
  const { cnitoolMain } = await import('../src/cnitool/main.ts');
  return cnitoolMain(args, io);
}

function usage(): number {
  writeAll(
    2,
    `weft: a CNI plugin suite in one executable.\n` +
      `Run it under one of these names (a link to it), or name one as the first argument:\n` +
      `  ${[...PLUGIN_TYPES, 'cnitool'].join(', ')}\n`,
  );
  return 1;
}

async function main(): Promise<number> {
  const inv = currentInvocation();
  setSelf(inv.self, loadPlugin);
  const cmd = commandOf(inv);
  if (!cmd) return usage();
  // The standalone entry answers this before compiling the bundle; the node-run one comes here.
  if (isVersionProbe(cmd, process.env)) return answerVersion();
  const { name, args } = cmd;
  if (name === 'cnitool') return runCnitool(args);
  const plugin = await step(`load ${name}`, () => loadPlugin(name));
  if (!plugin) return usage();
  return runAsPlugin(plugin);
}

/** Load every module weft can run, so that a V8 code cache made afterwards covers them all. */
export async function preloadAll(): Promise<void> {
  await Promise.all(PLUGIN_TYPES.map(loadPlugin));
  await Promise.all([import('../src/cnitool/main.ts'), import('./operator.ts')]);
}

/** Run weft for this process and exit with its status; `marks` are the entry's clock readings. */
export function runMain(marks?: EntryMarks): void {
  startProfile(marks);
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      // Last resort: protocol errors are handled inside runPlugin; this is a bug.
      writeAll(1, JSON.stringify({ code: 999, msg: `weft internal error: ${(err as Error)?.message ?? String(err)}` }, null, 4));
      process.exit(1);
    },
  );
}
