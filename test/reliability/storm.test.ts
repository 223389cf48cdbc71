import { describe, expect, it } from 'vitest';
import { adDelStorm } from './helpers/storm.ts';

// The ADD/DEL storm at the size npm test can afford on 2 cores (about 25 s);
// the 200-way storm is in test/stress (npm run test:stress).

describe('ADD/DEL storm through flannel → bridge → host-local', () => {
  it('64 pods ADDed at once, half DELeted while more are ADDed, all DELeted: every command succeeds, no address held twice, nothing left', async () => {
    const { phases } = await adDelStorm({ pods: 64, concurrency: 64 });
    console.log('storm of 64 (ms):', phases);
    expect(Object.keys(phases)).toEqual(['add', 'mixed', 'del']);
  }, 300_000);
});
