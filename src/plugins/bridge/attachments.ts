import { isTopLevel } from '../../cni/chain.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { addWithReclaim, namespaceIdentity, recordAttachment } from '../attachments/lifecycle.ts';
import { cmdAdd } from './add.ts';
import { loadBridgeConf } from './conf.ts';

// A bridge the runtime runs itself (not as flannel's delegate) keeps
// attachment records beside its host-local store, as flannel does. Its own ADD
// undoes what it did when it fails, but cannot say whether all of it went;
// the record then stays for the runtime's DEL (or a reclaim) to remove.

export async function cmdAddRecorded(args: CmdArgs): Promise<string> {
  if (!isTopLevel(args.env)) return cmdAdd(args);
  // Loaded first: a config a DEL could not load again must not leave a record behind.
  const conf = loadBridgeConf(args.stdinData, args.args);
  const record = await recordAttachment(args, 'bridge', conf.leaseStore, namespaceIdentity('linux', args.netns));
  const out = await addWithReclaim(record, () =>
    cmdAdd(args).then(
      (result) => ({ result }),
      (error: unknown) => ({ error, undone: false }),
    ),
  );
  if ('error' in out) throw out.error;
  return out.result;
}
