import path from 'node:path';

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
