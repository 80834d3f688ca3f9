// Vitest global setup: one scratch directory per test run, shared by every
// test file (they run one at a time). Expensive fixtures such as the Debian
// base tree are built into it at most once per run (see debian-tree.ts) and
// the whole directory is removed at the end.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export async function setup(): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(path.join(process.env.IMGFACTORY_TEST_TMP ?? tmpdir(), 'imgfactory-test-'));
  process.env.IMGFACTORY_TEST_RUN_DIR = runDir;
  return async () => {
    if (process.env.IMGFACTORY_KEEP_TEST_DIR) return;
    await rm(runDir, { recursive: true, force: true });
  };
}
