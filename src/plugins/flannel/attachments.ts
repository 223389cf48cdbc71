import { type AttachmentSite, hostLocalSite } from '../attachments/store.ts';
import type { FlannelConf } from './conf.ts';
import type { FlannelOS } from './platform.ts';

// flannel keeps its attachment records beside the store its delegate leases
// from: the host-local config it builds (delegate-conf.ts) takes the user's
// ipam on Linux, and the defaults on Windows.

export const attachmentSite = (conf: FlannelConf, os: FlannelOS): AttachmentSite | undefined =>
  hostLocalSite(conf.name, os === 'linux' ? { type: 'host-local', ...conf.ipam } : { type: 'host-local' });
