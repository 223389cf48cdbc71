import { delegateStatus } from '../../cni/delegate.ts';
import { ErrorCode } from '../../cni/errors.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { statusWithReclaim } from '../attachments/lifecycle.ts';
import { attachmentSite } from './attachments.ts';
import { loadFlannelConf, subnetFileWaitMs } from './conf.ts';
import { buildDelegate, encodeDelegate } from './delegate-conf.ts';
import { flannelOS } from './platform.ts';
import { readSubnetEnv, subnetEnvFailure } from './subnet-env.ts';

// STATUS (CNI 1.1): flannel can add pods once flanneld has written
// subnet.env; after that, readiness is the delegate's to tell, except that a
// range set exhausted by pods that are gone is not (ADD reclaims them).

export async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadFlannelConf(args.stdinData);
  const os = flannelOS(conf);
  const subnetEnv = await readSubnetEnv(conf.subnetFile, subnetFileWaitMs(conf)).catch((e: unknown) => {
    throw subnetEnvFailure(e, ErrorCode.PluginNotAvailable);
  });
  const delegate = buildDelegate(conf, subnetEnv, os);
  await statusWithReclaim(args, attachmentSite(conf, os), () => delegateStatus(delegate.type as string, encodeDelegate(delegate), { env: args.env }));
}
