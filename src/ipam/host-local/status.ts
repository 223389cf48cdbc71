import fs from 'node:fs';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { fsErrorMessage } from '../../cni/oserror.ts';
import { rangeCapacity } from './allocator.ts';
import type { IpamConfig } from './config.ts';
import { formatRangeSet } from './range.ts';
import { withNetwork } from './session.ts';
import { storePaths } from './store.ts';

// STATUS: can an ADD succeed? Not when the data dir cannot be written, nor
// when some range set (every ADD needs one address from each) has no free
// address left in any of its ranges. Both are code 50, "plugin not available".

const unavailable = (msg: string) => new CniError(ErrorCode.PluginNotAvailable, msg);

export async function statusOf(conf: IpamConfig): Promise<void> {
  const exhausted = await withNetwork(conf.dataDir, conf.name, { create: true }, (session) => {
    fs.accessSync(session.paths.netDir, fs.constants.W_OK);
    return conf.rangeSets.find((set) => set.every((r) => rangeCapacity(r) <= BigInt(session.index.leasedIn(r))));
  }).catch((e: unknown) => {
    const dir = storePaths(conf.dataDir, conf.name).netDir;
    throw unavailable(`host-local data dir ${dir} is not usable: ${fsErrorMessage(e)}`);
  });
  if (exhausted) throw unavailable(`no IP addresses available in range set: ${formatRangeSet(exhausted)}`);
}
