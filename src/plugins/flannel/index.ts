import type { Plugin } from '../../cni/skel.ts';
import { ALL_VERSIONS } from '../../cni/version.ts';
import { cmdAdd } from './add.ts';
import { cmdCheck } from './check.ts';
import { cmdDel } from './del.ts';
import { cmdGC } from './gc.ts';
import { cmdStatus } from './status.ts';

// The flannel meta plugin: turns flanneld's subnet.env into a delegate
// config (bridge on Linux, win-bridge / win-overlay on Windows) and runs it.

export const plugin: Plugin = {
  type: 'flannel',
  about: 'CNI flannel plugin (weft)',
  versions: ALL_VERSIONS,
  add: cmdAdd,
  check: cmdCheck,
  del: cmdDel,
  gc: cmdGC,
  status: cmdStatus,
};
