import type { Attachment } from '../../cni/conf.ts';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import type { IpamConfig } from './config.ts';
import { withNetwork } from './session.ts';
import { LINE_BREAK, leaseContent, legacyLeaseContent } from './store.ts';

// GC: release every lease whose attachment is not in the valid list. An
// ID-only lease of an old version belongs to every interface of its
// container. Only IP-named files are leases, so the reference's `lock` and
// `last_reserved_ip.*` are never touched. GC reads every lease file (it is
// rare, and the runtime runs it apart from ADD and DEL), which also rebuilds
// the index from the store.

export async function gcLeases(conf: IpamConfig, valid: readonly Attachment[]): Promise<void> {
  const keepExact = new Set(valid.map((a) => leaseContent(a.containerID, a.ifname)));
  const keepIds = new Set(valid.map((a) => legacyLeaseContent(a.containerID)));
  await withNetwork(conf.dataDir, conf.name, { create: false }, async (session) => {
    const leases = await session.rebuild(session.index);
    let released = 0;
    const failed: string[] = [];
    for (const lease of leases) {
      const stillValid = lease.content.includes(LINE_BREAK) ? keepExact.has(lease.content) : keepIds.has(lease.content);
      if (stillValid) continue;
      try {
        session.release(lease.ip, { announce: false });
        released++;
      } catch (e) {
        failed.push((e as Error).message);
      }
      await session.pause();
    }
    log.info('gc done', { network: conf.name, released, kept: leases.length - released });
    if (failed.length > 0) throw new CniError(ErrorCode.IOFailure, failed.join(';'));
  });
}
