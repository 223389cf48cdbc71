import { delegateDel } from '../../cni/delegate.ts';
import { errorText } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { step } from '../../cni/profile.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { teardownIPMasq } from '../../os/linux/ipmasq.ts';
import { NetnsMissingError, checkNetns } from '../../os/linux/netns.ts';
import { deletePodLink } from '../../os/linux/pod.ts';
import { spoofCheckId, teardownSpoofCheck } from '../../os/linux/spoofcheck.ts';
import { forgetAttachment } from '../attachments/lifecycle.ts';
import { type BridgeConf, loadBridgeConf } from './conf.ts';

// bridge DEL (bridge.go cmdDel), idempotent: the pod's interface goes if the
// namespace is still there (a missing link is fine), the IPAM lease is
// released, and the masquerade and spoof-check rules are found by container
// ID, so they go too when the namespace is already gone or not given (the
// reference leaks them then). The bridge and its gateway addresses stay for
// other pods. The link's removal (a process, and the kernel's slowest step:
// ~20 ms of waiting for RCU) and the IPAM release run side by side. A bridge
// the runtime ran itself removes its attachment record last (attachments.ts).

async function ipamDel(conf: BridgeConf, args: CmdArgs): Promise<void> {
  if (conf.ipamType !== '') await delegateDel(conf.ipamType, args.stdinData, { env: args.env });
}

async function teardownRules(conf: BridgeConf, args: CmdArgs): Promise<void> {
  if (conf.macSpoofChk) {
    try {
      await teardownSpoofCheck(spoofCheckId(args.containerId, args.ifName));
    } catch (e) {
      // As in the reference, a spoof-check leftover does not fail DEL.
      log.warn('DEL: spoof-check teardown failed', { error: errorText(e) });
    }
  }
  if (conf.ipamType !== '' && conf.ipMasq) await teardownIPMasq(conf.name, args.ifName, args.containerId);
}

export async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = step('config', () => loadBridgeConf(args.stdinData, args.args));
  // No namespace given (the runtime lost it, or a reclaim of a pod that is gone): nothing to do inside.
  let podGone = args.netns === '';
  if (!podGone) {
    try {
      checkNetns(args.netns);
    } catch (e) {
      // A path that is not a namespace is an error; a path that is gone means the pod is.
      if (!(e instanceof NetnsMissingError)) throw e;
      podGone = true;
    }
  }
  // Every step runs even if one fails; the first failure is reported, and the
  // runtime's retry of DEL finds the rest already done.
  const settled = await Promise.allSettled([podGone ? undefined : deletePodLink(args.netns, args.ifName), ipamDel(conf, args)]);
  let first = settled.find((s) => s.status === 'rejected')?.reason as unknown;
  try {
    await teardownRules(conf, args);
  } catch (e) {
    first ??= e;
  }
  if (first !== undefined) throw first;
  forgetAttachment(args, conf.leaseStore);
}
