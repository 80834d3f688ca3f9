import { defineConfig } from 'vitest/config';

// Unit tests are fast and isolated; integration tests build real root trees
// (mmdebstrap, sandboxes, disk images) and share one base tree per run via
// test/integration/global-setup.ts, so they run one file at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
