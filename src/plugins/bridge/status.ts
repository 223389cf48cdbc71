import { validAttachments, parseConfDocument } from '../../cni/conf.ts';
import { delegateGC, delegateStatus } from '../../cni/delegate.ts';
import { collectedError } from '../../cni/errors.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { gcIPMasq } from '../../os/linux/ipmasq.ts';
import { gcAttachments, statusWithReclaim } from '../attachments/lifecycle.ts';
import { loadBridgeConf } from './conf.ts';

// STATUS asks IPAM (an L2 bridge is always ready). GC reclaims attachments
// of pods that are gone (when the runtime ran the bridge itself), passes the
// valid attachments on to IPAM and removes masquerade rules this network
// made for containers that are not among them (the reference registers no GC).

export async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadBridgeConf(args.stdinData, '');
  if (conf.ipamType === '') return;
  await statusWithReclaim(args, conf.leaseStore, () => delegateStatus(conf.ipamType, args.stdinData, { env: args.env }));
}

export async function cmdGC(args: CmdArgs): Promise<void> {
  const conf = loadBridgeConf(args.stdinData, '');
  const keep = validAttachments(parseConfDocument(args.stdinData));
  if (conf.ipamType === '') return;
  const errors = await gcAttachments(args, conf.leaseStore, keep);
  await delegateGC(conf.ipamType, args.stdinData, { env: args.env });
  await gcIPMasq(conf.name, keep);
  const failed = collectedError(errors);
  if (failed) throw failed;
}
