import { delegateDel } from '../../cni/delegate.ts';
import { errorText } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { step } from '../../cni/profile.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { forgetAttachment } from '../attachments/lifecycle.ts';
import { attachmentSite } from './attachments.ts';
import { cleanupConf } from './cleanup-conf.ts';
import { loadFlannelConf } from './conf.ts';
import { encodeDelegate } from './delegate-conf.ts';
import { flannelOS, scratchKey } from './platform.ts';
import { scratchStore } from './scratch-store.ts';

// DEL replays the saved delegate config. The file goes only after the
// delegate DEL succeeded, so a failed DEL can be retried. Without a usable
// saved config (lost, or cut short by a power loss) DEL still releases the
// pod's lease with a rebuilt config, and succeeds: a DEL that can never
// succeed would wedge the pod's deletion. The attachment's record goes once
// everything it held is released.

export async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = step('config', () => loadFlannelConf(args.stdinData));
  const os = flannelOS(conf);
  const key = scratchKey(args, os);
  const store = scratchStore(conf.dataDir);
  const ctx = { env: args.env };
  const site = attachmentSite(conf, os);

  const saved = step('read delegate config', () => store.load(key));
  if (saved.state === 'saved') {
    await delegateDel(saved.type, saved.bytes, ctx);
    store.remove(key);
    forgetAttachment(args, site);
    return;
  }

  if (saved.state === 'corrupt') log.warn('saved delegate config is unusable; rebuilding it', { file: store.fileOf(key), reason: saved.reason });
  try {
    // No waiting: DEL must not stall while flanneld is down.
    const target = await cleanupConf(conf, os, 0);
    await delegateDel(target.type, encodeDelegate(target.conf), ctx);
    if (saved.state === 'corrupt') store.remove(key);
    forgetAttachment(args, site);
  } catch (e) {
    // GC collects what is left (the record stays for that); the corrupt file, if any, stays for a retry.
    log.warn('DEL without a saved delegate config could not release everything', { key, error: errorText(e) });
  }
}
