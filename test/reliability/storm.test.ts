import { describe, expect, it } from 'vitest';
import { adDelStorm } from './helpers/storm.ts';

// The ADD/DEL storm at the size npm test can afford on 2 cores; the 200-way
// storm is in test/stress (npm run test:stress).

describe('ADD/DEL storm through flannel → bridge → host-local', () => {
  it('56 pods ADDed at once, half DELeted while more are ADDed, 8 vanish and the range is filled past them, all DELeted: every command succeeds, no address held twice, nothing left', async () => {
    const { phases, reclaimed } = await adDelStorm({ pods: 56, concurrency: 56, vanish: 8 });
    console.log('storm of 56 (ms):', phases, 'reclaimed:', reclaimed);
    expect(Object.keys(phases)).toEqual(['add', 'mixed', 'reclaim', 'del']);
  }, 300_000);
});
