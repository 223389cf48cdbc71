import { validAttachments } from '../../cni/conf.ts';
import { delegateGC } from '../../cni/delegate.ts';
import { type CniError, asCniError, collectedError } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { gcAttachments } from '../attachments/lifecycle.ts';
import { attachmentSite } from './attachments.ts';
import { cleanupConf } from './cleanup-conf.ts';
import { loadFlannelConf, subnetFileWaitMs } from './conf.ts';
import { encodeDelegate } from './delegate-conf.ts';
import { flannelOS } from './platform.ts';
import { scratchStore } from './scratch-store.ts';

// GC (CNI 1.1): attachments of pods that are provably gone are reclaimed
// first (a full DEL each, which needs their saved configs); then saved
// configs of containers the runtime no longer knows are removed, and GC goes
// on to the delegate, whose IPAM then drops their leases (Linux). A Windows
// delegate's GC leaves its store alone (kube-proxy leases its "dummy"
// source VIP there), so there the recorded attachments the runtime does not
// list get a full DEL each instead. Saved configs are per container, so a
// container stays while any of its attachments is valid. Errors are
// collected, not fatal, as the spec asks.

const ATTACHMENT_KEYS = ['cni.dev/valid-attachments', 'cni.dev/attachments'] as const;

export async function cmdGC(args: CmdArgs): Promise<void> {
  const conf = loadFlannelConf(args.stdinData);
  const attachments = validAttachments(conf.raw);
  const valid = new Set(attachments.map((a) => a.containerID));
  const os = flannelOS(conf);
  const errors: CniError[] = await gcAttachments(args, attachmentSite(conf, os), attachments, os === 'windows' ? 'del' : 'drop');

  const store = scratchStore(conf.dataDir);
  try {
    store.removeLeftovers();
    for (const key of store.keys()) {
      if (valid.has(key)) continue;
      log.info('GC: removing saved delegate config of a stale container', { key });
      store.remove(key);
    }
  } catch (e) {
    errors.push(asCniError(e));
  }

  try {
    const target = await cleanupConf(conf, os, subnetFileWaitMs(conf));
    for (const k of ATTACHMENT_KEYS) if (Object.hasOwn(conf.raw, k)) target.conf[k] = conf.raw[k];
    await delegateGC(target.type, encodeDelegate(target.conf), { env: args.env });
  } catch (e) {
    errors.push(asCniError(e));
  }

  const failed = collectedError(errors);
  if (failed) throw failed;
}
