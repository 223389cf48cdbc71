import type { Plugin } from '../../cni/skel.ts';
import { ALL_VERSIONS } from '../../cni/version.ts';
import { cmdAddRecorded } from './attachments.ts';
import { cmdCheck } from './check.ts';
import { cmdDel } from './del.ts';
import { cmdGC, cmdStatus } from './status.ts';

// bridge: pods on a Linux bridge, each through a veth pair, with IPAM by
// delegation (plugins/main/bridge in the reference plugins).

export const plugin: Plugin = {
  type: 'bridge',
  about: 'CNI bridge plugin (weft)',
  versions: ALL_VERSIONS,
  add: cmdAddRecorded,
  check: cmdCheck,
  del: cmdDel,
  gc: cmdGC,
  status: cmdStatus,
};
