import { describe, expect, it } from 'vitest';
import { fuzzPlugins } from '../reliability/helpers/fuzz.ts';

describe('10,000 fuzzed configs, environments and files, every plugin type and cnitool, in process and through the executables', () => {
  it('always exactly one CNI error object or a valid result, never a stack trace or a foreign message, nothing left by a failed ADD, never a write outside the named directories', async () => {
    const stats = await fuzzPlugins(10_000, process.env.WEFT_FUZZ_SEED ? Number(process.env.WEFT_FUZZ_SEED) : undefined);
    console.log('fuzz (10,000):', stats);
    expect(stats.cases).toBe(10_000);
    expect(stats.ok).toBeGreaterThan(300);
    // Every generator had its share (a few percent each) of the 10,000.
    for (const k of ['executed', 'cnitool', 'tooDeep', 'deepWithinLimit', 'edgeNumbers', 'specialFiles', 'ownNetns', 'failedAdds'] as const) {
      expect(stats[k], k).toBeGreaterThan(50);
    }
  }, 1_800_000);
});
