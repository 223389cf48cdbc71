import { describe, expect, it } from 'vitest';
import { flannelKillStorm, hostLocalKillStorm } from './helpers/kill.ts';

// kill -9 at random moments at the size npm test can afford; 500 ADDs are in
// test/stress (npm run test:stress). Kills that land inside the lock cost
// the next process the stale-lock wait (4 s), which bounds the speed.

describe('kill -9 at random moments, then DEL and GC', () => {
  it('host-local: every lease whole, only kept attachments hold addresses, exactly the ones they were given', async () => {
    const r = await hostLocalKillStorm({ adds: 100, concurrency: 8, killRatio: 0.4 });
    console.log('host-local kill storm:', r);
    expect(r.killed).toBeGreaterThan(0);
  }, 300_000);

  it('flannel → bridge → host-local, with pods vanishing and ADDs reclaiming: no address with two live owners; saved configs, records, leases, veths and masquerade rules only for kept pods', async () => {
    const r = await flannelKillStorm({ adds: 16, concurrency: 8, killRatio: 0.5 });
    console.log('flannel kill storm:', r);
    expect(r.killed).toBeGreaterThan(0);
    expect(r.reclaimed).toBeGreaterThan(0);
  }, 300_000);
});
