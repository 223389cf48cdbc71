import path from 'node:path';
import type { Env } from '../src/cni/env.ts';
import { errorText } from '../src/cni/errors.ts';
import { netConfDir, usage } from '../src/cnitool/cli.ts';
import { loadNetworkConf } from '../src/cnitool/conf.ts';
import { buildOneConfig } from '../src/cnitool/inject.ts';
import { type OperatorIO, listAttachments, reclaimAttachments } from '../src/plugins/attachments/operator.ts';

// `cnitool attachments <net>` and `cnitool reclaim <net>`: weft's operator
// commands beside upstream cnitool's verbs. The network's plugin list is
// loaded as for any cnitool verb; what its weft plugins record is theirs to
// tell (src/plugins/attachments/operator.ts).

export async function runOperator(args: readonly string[], io: OperatorIO, env: Env = process.env): Promise<number> {
  const [verb, network] = args;
  if (network === undefined) {
    io.stderr(usage('cnitool'));
    return 1;
  }
  try {
    const list = loadNetworkConf(netConfDir(env), network);
    const plugins = list.plugins.map((p) => ({ type: p.network.type, stdin: buildOneConfig(list.name, list.cniVersion, p, undefined, undefined).bytes }));
    if (verb === 'attachments') return await listAttachments(network, plugins, env, io);
    // The reclaim's DELs find their delegates on CNI_PATH; cnitool lives beside them.
    const cniPath = env.CNI_PATH || path.dirname(process.argv[1] ?? '');
    return await reclaimAttachments(network, plugins, { ...env, CNI_PATH: cniPath }, io);
  } catch (e) {
    io.stderr(`${errorText(e)}\n`);
    return 1;
  }
}
