import { defineConfig } from 'vitest/config';

// The package smoke tests (npm run test:package): they build the standalone
// executables and the three packages first, so they run apart from npm test.
export default defineConfig({
  test: {
    include: ['test/packaging/**/*.test.ts'],
    globalSetup: ['test/packaging/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
