import { delegateChain } from '../../cni/chain.ts';
import { delegateAdd, delegateDel } from '../../cni/delegate.ts';
import { errorText, wrapError } from '../../cni/errors.ts';
import { findInPath, splitPathList } from '../../cni/invoke.ts';
import { log } from '../../cni/log.ts';
import { step } from '../../cni/profile.ts';
import { encodeResult } from '../../cni/result/encode.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { type AddAttempt, addWithReclaim, namespaceIdentity, recordAttachment } from '../attachments/lifecycle.ts';
import { attachmentSite } from './attachments.ts';
import { checkDelegateDict, loadFlannelConf, subnetFileWaitMs } from './conf.ts';
import { buildDelegate, encodeDelegate } from './delegate-conf.ts';
import { flannelOS, scratchKey } from './platform.ts';
import { scratchStore } from './scratch-store.ts';
import { readSubnetEnv, subnetEnvFailure } from './subnet-env.ts';

// ADD: build the delegate config, record the attachment, save the config
// for DEL, run the delegate and print its result as it is. A failed delegate
// ADD is undone at once (delegate DEL, saved config and record removed), so
// nothing leaks even if the runtime never sends DEL. When the range set is
// exhausted, the attachments of pods that are provably gone are reclaimed and
// the ADD is tried once more (attachments/lifecycle.ts).

export async function cmdAdd(args: CmdArgs): Promise<string> {
  let conf;
  try {
    conf = step('config', () => loadFlannelConf(args.stdinData));
  } catch (e) {
    throw wrapError('failed to load flannel netconf file', e);
  }
  // Config mistakes are permanent: report them before waiting for subnet.env.
  checkDelegateDict(conf.delegate);
  const os = flannelOS(conf);
  const key = scratchKey(args, os);
  const subnetEnv = await step('subnet.env', () => readSubnetEnv(conf.subnetFile, subnetFileWaitMs(conf))).catch((e: unknown) => {
    throw subnetEnvFailure(e);
  });

  const delegate = buildDelegate(conf, subnetEnv, os);
  const type = delegate.type as string;
  const bytes = encodeDelegate(delegate);
  log.debug('netconf sent to delegate plugin', { type, netconf: bytes.toString() });

  const ctx = { env: args.env };
  try {
    // A delegate that is not installed, or would loop back to flannel, cannot
    // have done anything: fail before saving, so no DEL replays it.
    delegateChain(args.env, type);
    findInPath(type, splitPathList(args.env.CNI_PATH));
  } catch (e) {
    throw wrapError('failed to delegate add', e);
  }
  const record = await step('attachment record', () => recordAttachment(args, 'flannel', attachmentSite(conf, os), namespaceIdentity(os, args.netns)));
  const store = scratchStore(conf.dataDir);
  const attempt = async (): Promise<AddAttempt> => {
    step('save delegate config', () => store.save(key, bytes));
    try {
      return { result: encodeResult(await delegateAdd(type, bytes, ctx)) };
    } catch (error) {
      try {
        await delegateDel(type, bytes, ctx);
        store.remove(key);
        return { error, undone: true };
      } catch (delError) {
        // The saved config stays, so the runtime's DEL can finish the job.
        log.warn('delegate DEL after a failed ADD failed; keeping the saved config', { key, error: errorText(delError) });
        return { error, undone: false };
      }
    }
  };
  const out = await addWithReclaim(record, attempt);
  if ('error' in out) throw wrapError('failed to delegate add', out.error);
  return out.result;
}
