import { describe, expect, it } from 'vitest';
import { fuzzPlugins } from '../reliability/helpers/fuzz.ts';

describe('10,000 fuzzed configs and environments, every plugin type, in process', () => {
  it('always one CNI error object or a valid result, never a stack trace, never a write outside the named directories', async () => {
    const stats = await fuzzPlugins(10_000, process.env.WEFT_FUZZ_SEED ? Number(process.env.WEFT_FUZZ_SEED) : undefined);
    console.log('fuzz (10,000):', stats);
    expect(stats.cases).toBe(10_000);
    expect(stats.ok).toBeGreaterThan(300);
  }, 600_000);
});
