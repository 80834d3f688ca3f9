import { defineConfig } from 'vitest/config';
import LongestFirst from './test/support/sequencer.js';
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS } from './test/support/slowdown.js';

// Unit tests are fast and isolated. Integration tests build real root trees
// (mmdebstrap, sandboxes, disk images) and share one Debian base tree and one
// base cache per run, made by the first file that needs them while the others
// wait (test/support/run-once.ts). What one file makes is removed when it
// ends (test/support/file-dir.ts). Time limits are stretched by how slow the
// machine is (test/support/slowdown.ts).
//
// The run is three projects, one after the other (sequence.groupOrder):
// - unit: the unit files, side by side;
// - integration: the integration files, two at a time. Most of a build is
//   one busy thread (dpkg, mkfs, a TCG guest) or waiting on the network, so
//   two files on the 2 cores finish sooner than one after the other; their
//   time limits are doubled (IMGFACTORY_TEST_FILES_AT_ONCE); the longest
//   files start first (test/support/sequencer.ts);
// - alone: the files that read state the whole host shares, one at a time
//   and with nothing beside them: host-untouched compares the host's mounts,
//   loop devices and /etc before and after a build, the publish files
//   list and retire images in the one test cloud's projects. (The sandbox
//   conformance file runs beside the others on purpose: the container
//   sandbox's read-only view of the host's mount tree must hold while other
//   builds' mounts come and go, as on any shared build host.)
const ALONE = [
  'test/integration/host-untouched.root.test.ts',
  'test/integration/publish.root.test.ts',
  'test/integration/publish-clouds.root.test.ts',
];
const INTEGRATION_AT_ONCE = 2;

const shared = {
  testTimeout: TEST_TIMEOUT_MS,
  hookTimeout: HOOK_TIMEOUT_MS,
  globalSetup: ['test/support/global-setup.ts'],
  setupFiles: ['test/support/file-dir.ts'],
};

export default defineConfig({
  test: {
    sequence: { sequencer: LongestFirst },
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'], maxWorkers: 2, sequence: { groupOrder: 0 } } },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ALONE,
          maxWorkers: INTEGRATION_AT_ONCE,
          env: { IMGFACTORY_TEST_FILES_AT_ONCE: String(INTEGRATION_AT_ONCE) },
          sequence: { groupOrder: 1 },
        },
      },
      { test: { ...shared, name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
});
