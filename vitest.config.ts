import { defineConfig } from 'vitest/config';
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS } from './test/support/slowdown.js';

// Unit tests are fast and isolated. Integration tests build real root trees
// (mmdebstrap, sandboxes, disk images); they run one file at a time and share
// one Debian base tree per run (test/support/debian-tree.ts). What one file
// makes is removed when it ends (test/support/file-dir.ts). Time limits are
// stretched by how slow the machine is (test/support/slowdown.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: TEST_TIMEOUT_MS,
    hookTimeout: HOOK_TIMEOUT_MS,
    fileParallelism: false,
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/file-dir.ts'],
  },
});
