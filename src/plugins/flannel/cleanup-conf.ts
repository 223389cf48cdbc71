import { errorText } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import type { FlannelConf, JsonObject } from './conf.ts';
import { buildDelegate, ipamOnlyConf } from './delegate-conf.ts';
import type { FlannelOS } from './platform.ts';
import { readSubnetEnv } from './subnet-env.ts';

// The config DEL and GC hand on when no saved one can be used: the delegate
// config rebuilt from today's conf and subnet.env, or, when that cannot be
// built (flanneld down, subnet.env gone), a config for the IPAM plugin alone,
// which is enough to release leases by container ID and interface.

export async function cleanupConf(conf: FlannelConf, os: FlannelOS, waitMs: number): Promise<{ type: string; conf: JsonObject }> {
  try {
    const delegate = buildDelegate(conf, await readSubnetEnv(conf.subnetFile, waitMs), os);
    return { type: delegate.type as string, conf: delegate };
  } catch (e) {
    log.warn('cannot rebuild the delegate config; falling back to the IPAM plugin alone', { error: errorText(e) });
    const ipamOnly = ipamOnlyConf(conf, os);
    return { type: ipamOnly.type as string, conf: ipamOnly };
  }
}
