import { errorText, isJavaScriptFault } from '../cni/errors.ts';
import { encodeResult } from '../cni/result/encode.ts';
import type { Env } from '../cni/env.ts';
import { cniConfigFromEnv, netConfDir, runtimeFromEnv, usage } from './cli.ts';
import { loadNetworkConf } from './conf.ts';
import { addNetworkList, checkNetworkList, delNetworkList, gcNetworkList, getStatusNetworkList } from './list.ts';

// `cnitool add|check|del|gc|status <net> <netns>`: a container runtime in
// one command, exec'ing the plugins and keeping libcni's cache, with the
// output and exit codes of upstream cnitool 1.3.

export interface CnitoolIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface CnitoolOptions {
  /** The environment cnitool reads, and plugins inherit. Default: this process's. */
  env?: Env;
  /** The name in the usage text. */
  exe?: string;
}

/** Run cnitool with `args` (verb, network, netns); resolves to the exit code. */
export async function cnitoolMain(args: readonly string[], io: CnitoolIO, opts: CnitoolOptions = {}): Promise<number> {
  const env = opts.env ?? process.env;
  const [verb, network, netnsArg] = args;
  if (verb === undefined || network === undefined || netnsArg === undefined) {
    io.stderr(usage(opts.exe ?? 'cnitool'));
    return 1;
  }
  try {
    const list = loadNetworkConf(netConfDir(env), network);
    const rt = runtimeFromEnv(env, netnsArg);
    const cni = cniConfigFromEnv(env, io.stderr);
    switch (verb) {
      case 'add':
        io.stdout(encodeResult(await addNetworkList(cni, list, rt)));
        break;
      case 'check':
        await checkNetworkList(cni, list, rt);
        break;
      case 'del':
        await delNetworkList(cni, list, rt);
        break;
      case 'gc':
        // As upstream: no valid-attachments list, so every cached attachment of the network goes.
        await gcNetworkList(cni, list);
        break;
      case 'status':
        await getStatusNetworkList(cni, list);
        break;
      default:
        // Upstream cnitool 1.3 has no default case: an unknown verb does nothing and succeeds.
        break;
    }
    return 0;
  } catch (e) {
    // A fault of JavaScript itself is a bug: said as one, with what a bug report needs after it.
    io.stderr(isJavaScriptFault(e) ? `internal error in weft's cnitool:\n${e.stack ?? e.message}\n` : `${errorText(e)}\n`);
    return 1;
  }
}
