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

export function currentInvocation(argv = process.argv, argv0 = process.argv0): Invocation {
  if (isSea()) {
    // argv[0] is the resolved executable; argv0 is the path as exec'd (a link's name).
    return { self: process.execPath, name: commandName(argv0), args: argv.slice(2) };
  }
  return { self: argv[1] ?? '', name: commandName(argv[1] ?? ''), args: argv.slice(2) };
}
