// Vitest setup file, run in every test file's worker: the default time
// limits are stretched by the run's slowdown (slowdown.ts), and when the file
// ends, the scratch directories its tests made (run-dir.ts) are removed, so a
// run's disk use stays near that of its largest file instead of their sum.
import { afterAll, vi } from 'vitest';
import { madeFileDir } from './run-dir.js';
import { removeTree } from './remove-tree.js';
import { HOOK_TIMEOUT_MS, scaled, TEST_TIMEOUT_MS } from './slowdown.js';

vi.setConfig({ testTimeout: scaled(TEST_TIMEOUT_MS), hookTimeout: scaled(HOOK_TIMEOUT_MS) });

afterAll(async () => {
  const dir = madeFileDir();
  if (dir) await removeTree(await dir);
});
