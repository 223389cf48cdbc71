import fs from 'node:fs';
import path from 'node:path';
import { ALL_VERSIONS, encodeVersionInfo } from '../src/cni/version.ts';
import { isPluginType } from '../src/plugins/types.ts';

// How weft was started: as a script under node, or as a standalone (SEA)
// executable, and under which name. The name picks the plugin.

export interface Invocation {
  /** The file that is weft itself (the script, or the executable). */
  self: string;
  /** The name weft was invoked as, without directory or ".exe". */
  name: string;
  /** Arguments after the program name. */
  args: string[];
}

function isSea(): boolean {
  // getBuiltinModule and node:sea exist from Node 20.16; plain `node` answers false.
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const sea = getBuiltin?.('node:sea') as { isSea(): boolean } | undefined;
  return sea?.isSea() ?? false;
}

const commandName = (p: string): string => path.basename(p).replace(/\.(exe|cjs|mjs|js)$/i, '');

export function currentInvocation(argv = process.argv): Invocation {
  // Under node argv[1] is the script; in a SEA it is the path as exec'd (a
  // link's name) while argv[0] is the resolved executable.
  const invokedAs = argv[1] ?? '';
  return { self: isSea() ? process.execPath : invokedAs, name: commandName(invokedAs), args: argv.slice(2) };
}

/** What to run: a plugin type or cnitool, with its arguments. */
export interface Command {
  name: string;
  args: string[];
}

/** The command: the invoked name when it is one weft answers to, else the first argument; undefined when there is none. */
export function commandOf(inv: Invocation): Command | undefined {
  if (isPluginType(inv.name) || inv.name === 'cnitool') return { name: inv.name, args: inv.args };
  const [first, ...rest] = inv.args;
  return first === undefined ? undefined : { name: first, args: rest };
}

/**
 * Runtimes probe VERSION often; every weft plugin speaks all versions (a
 * test pins that), so the answer needs none of the plugin's code. cnitool
 * lives on CNI_PATH beside the plugins and answers a bare probe too.
 */
export const isVersionProbe = (cmd: Command, env: NodeJS.ProcessEnv): boolean =>
  env.CNI_COMMAND === 'VERSION' && (cmd.name !== 'cnitool' || cmd.args.length === 0);

/** Answer a VERSION probe on stdout; the exit status. */
export function answerVersion(): number {
  writeAll(1, encodeVersionInfo(ALL_VERSIONS));
  return 0;
}

/** Write all of `text` to a file descriptor, synchronously (stdout may be a non-blocking pipe). */
export function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}
