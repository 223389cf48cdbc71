import { describe, expect, it } from 'vitest';
import { adDelStorm } from './helpers/storm.ts';

// The ADD/DEL storm at the size npm test can afford on 2 cores; the 200-way
// storm is in test/stress (npm run test:stress).

describe('ADD/DEL storm through flannel → bridge → host-local', () => {
  it('64 pods ADDed, half DELeted while more are ADDed, all DELeted: every command succeeds, no address held twice, nothing left', async () => {
    const { phases } = await adDelStorm({ pods: Number(process.env.WEFT_STORM_PODS ?? 64), concurrency: Number(process.env.WEFT_STORM_CONC ?? 64) });
    console.log('storm phases (ms):', phases);
    expect(Object.keys(phases)).toEqual(['add', 'mixed', 'del']);
  }, 300_000);
});
