import { delegateCheck } from '../../cni/delegate.ts';
import { isPlainObject, parseJson } from '../../cni/json.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { type JsonObject, loadFlannelConf, subnetFileWaitMs } from './conf.ts';
import { buildDelegate, encodeDelegate } from './delegate-conf.ts';
import { flannelOS, scratchKey } from './platform.ts';
import { scratchStore } from './scratch-store.ts';
import { readSubnetEnv, subnetEnvFailure } from './subnet-env.ts';

// CHECK asks the delegate to verify the container's networking, with the
// config it was set up with (the saved one) and the runtime's prevResult.
// The reference returns success without looking.

export async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadFlannelConf(args.stdinData);
  const os = flannelOS(conf);
  const key = scratchKey(args, os);
  const saved = scratchStore(conf.dataDir).load(key);

  let delegate: JsonObject;
  let type: string;
  if (saved.state === 'saved') {
    const doc = parseJson(saved.bytes);
    delegate = isPlainObject(doc) ? doc : {};
    type = saved.type;
  } else {
    // Lost or unreadable: check against what ADD would build today.
    const subnetEnv = await readSubnetEnv(conf.subnetFile, subnetFileWaitMs(conf)).catch((e: unknown) => {
      throw subnetEnvFailure(e);
    });
    delegate = buildDelegate(conf, subnetEnv, os);
    type = delegate.type as string;
  }
  // prevResult is in the version of this CHECK's config, so the delegate config says the same.
  delegate.cniVersion = conf.cniVersion;
  if (conf.prevResult !== undefined) delegate.prevResult = conf.prevResult;
  else delete delegate.prevResult;
  await delegateCheck(type, encodeDelegate(delegate), { env: args.env });
}
