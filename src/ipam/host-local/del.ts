import { CniError, ErrorCode } from '../../cni/errors.ts';
import type { IpamConfig } from './config.ts';
import { withNetwork } from './session.ts';

// DEL: remove every lease of the attachment in this network, whichever range
// it came from (legacy ID-only files only when no exact file exists). An
// unknown attachment, or a network never used, is a success.

export async function delAttachment(conf: IpamConfig, containerId: string, ifName: string): Promise<void> {
  const errors = await withNetwork(conf.dataDir, conf.name, { create: false }, (session) => {
    const failed: string[] = [];
    for (const ip of session.leasesOf(containerId, ifName)) {
      try {
        session.release(ip);
      } catch (e) {
        failed.push((e as Error).message);
      }
    }
    return failed;
  });
  if (errors && errors.length > 0) throw new CniError(ErrorCode.IOFailure, errors.join(';'));
}
