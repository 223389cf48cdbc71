import { describe, expect, it } from 'vitest';
import { flannelKillStorm, hostLocalKillStorm } from '../reliability/helpers/kill.ts';

describe('kill -9 at random moments during 500 ADDs, then DEL and GC', () => {
  it('host-local, 500 ADDs: every lease whole, only kept attachments hold addresses, exactly the ones they were given', async () => {
    const r = await hostLocalKillStorm({ adds: 500, concurrency: 8, killRatio: 0.4 });
    console.log('host-local kill storm (500):', r);
    expect(r.killed).toBeGreaterThan(50);
  }, 600_000);

  it('flannel → bridge → host-local, 48 pods, with pods vanishing and ADDs reclaiming: no address with two live owners; saved configs, records, leases, veths and masquerade rules only for kept pods', async () => {
    const r = await flannelKillStorm({ adds: 48, concurrency: 8, killRatio: 0.5 });
    console.log('flannel kill storm (48):', r);
    expect(r.killed).toBeGreaterThan(0);
    expect(r.reclaimed).toBeGreaterThan(0);
  }, 600_000);
});
