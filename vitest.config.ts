import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/stress is npm run test:stress (vitest.stress.config.ts).
    exclude: ['test/packaging/**', 'test/stress/**', '**/node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Integration tests spawn real processes and network namespaces.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
