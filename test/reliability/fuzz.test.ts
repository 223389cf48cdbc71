import { describe, expect, it } from 'vitest';
import { fuzzPlugins } from './helpers/fuzz.ts';

// 2,000 fuzzed cases here; the 10,000 of the issue run in test/stress
// (npm run test:stress). WEFT_FUZZ_SEED replays the seed a failure printed.

describe('fuzzed configs, environments and files, every plugin type and cnitool, in process and through the executables', () => {
  it('always exactly one CNI error object or a valid result, never a stack trace or a foreign message, nothing left by a failed ADD, never a write outside the named directories', async () => {
    const stats = await fuzzPlugins(2000, process.env.WEFT_FUZZ_SEED ? Number(process.env.WEFT_FUZZ_SEED) : undefined);
    console.log('fuzz:', stats);
    expect(stats.cases).toBe(2000);
    // The generators reach past the protocol frame: successes and every kind of failure.
    expect(stats.ok).toBeGreaterThan(50);
    expect(Object.keys(stats.errors).length).toBeGreaterThan(5);
    // And each kind of hostile input the generators exist for came up.
    for (const k of ['executed', 'cnitool', 'tooDeep', 'deepWithinLimit', 'edgeNumbers', 'specialFiles', 'ownNetns', 'failedAdds'] as const) {
      expect(stats[k], k).toBeGreaterThan(0);
    }
  }, 600_000);
});
