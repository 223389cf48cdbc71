import { defineConfig } from 'vitest/config';

// The full-size reliability suite (npm run test:stress): the 200-way ADD/DEL
// storm, kill -9 during 500 ADDs, 10,000 fuzzed cases. One file at a time:
// each already loads both cores.
export default defineConfig({
  test: {
    include: ['test/stress/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
