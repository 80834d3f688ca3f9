import { defineConfig } from 'vitest/config';

// Unit tests are fast and isolated. Integration tests build real root trees
// (mmdebstrap, sandboxes, disk images); they run one file at a time and share
// one Debian base tree per run (test/support/debian-tree.ts). What one file
// makes is removed when it ends (test/support/file-dir.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/file-dir.ts'],
  },
});
