import { describe, expect, it } from 'vitest';
import { adDelStorm } from '../reliability/helpers/storm.ts';

describe('200-way ADD/DEL storm through flannel → bridge → host-local', () => {
  it('200 pods ADDed at once, half DELeted while 50 more are ADDed, all DELeted: every command succeeds, no address held twice, nothing left', async () => {
    const { phases } = await adDelStorm({ pods: 200, concurrency: 200 });
    console.log('storm of 200 (ms):', phases);
    expect(Object.keys(phases)).toEqual(['add', 'mixed', 'del']);
  }, 600_000);
});
