// Vitest setup file, run in every test file's worker: the default time
// limits are stretched by the run's slowdown (slowdown.ts); an integration
// file's builds use the run's one archive state (archive-pin.ts); and when
// the file ends, the scratch directories its tests made (run-dir.ts) are
// removed, so a run's disk use stays near that of its largest file instead
// of their sum.
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { pinnedArchiveState } from './archive-pin.js';
import { madeFileDir } from './run-dir.js';
import { removeTree } from './remove-tree.js';
import { HOOK_TIMEOUT_MS, scaled, TEST_TIMEOUT_MS } from './slowdown.js';

vi.setConfig({ testTimeout: scaled(TEST_TIMEOUT_MS), hookTimeout: scaled(HOOK_TIMEOUT_MS) });

beforeAll(async () => {
  if (!expect.getState().testPath?.includes('/test/integration/')) return;
  process.env.IMGFACTORY_ARCHIVE_STATE ??= await pinnedArchiveState();
});

afterAll(async () => {
  const dir = madeFileDir();
  if (dir) await removeTree(await dir);
});
