import { defineConfig } from 'vitest/config';

// The package suite (npm run test:package): it builds the standalone
// executables and every package first, then tests them: smoke tests, the
// installers, the images, containerd running them (containerd.test.ts) and a
// reproducible rebuild. So it runs apart from npm test.
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
