import { describe, expect, it } from 'vitest';
import { flannelKillStorm, hostLocalKillStorm } from './helpers/kill.ts';

describe('kill -9 at random moments, then DEL and GC', () => {
  it('host-local: leases whole, only kept attachments keep addresses, exactly the ones they were given', async () => {
    const r = await hostLocalKillStorm({ adds: Number(process.env.WEFT_KILL_ADDS ?? 150), concurrency: 8, killRatio: 0.4 });
    console.log('host-local kill storm:', r);
    expect(r.killed).toBeGreaterThan(0);
  }, 300_000);

  it('flannel → bridge → host-local: saved configs, leases, veths and masquerade rules only for kept pods', async () => {
    const r = await flannelKillStorm({ adds: Number(process.env.WEFT_KILL_PODS ?? 24), concurrency: 8, killRatio: 0.5 });
    console.log('flannel kill storm:', r);
    expect(r.killed).toBeGreaterThan(0);
  }, 300_000);
});
