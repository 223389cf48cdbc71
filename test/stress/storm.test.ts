import { describe, expect, it } from 'vitest';
import { adDelStorm } from '../reliability/helpers/storm.ts';

describe('200-way ADD/DEL storm through flannel → bridge → host-local', () => {
  it('200 pods ADDed at once, half DELeted while 50 more are ADDed, 25 vanish and the range is filled past them, all DELeted: every command succeeds, no address held twice, nothing left', async () => {
    const { phases, reclaimed } = await adDelStorm({ pods: 200, concurrency: 200, vanish: 25 });
    console.log('storm of 200 (ms):', phases, 'reclaimed:', reclaimed);
    expect(Object.keys(phases)).toEqual(['add', 'mixed', 'reclaim', 'del']);
  }, 600_000);
});
