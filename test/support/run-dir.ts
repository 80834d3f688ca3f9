// The per-run scratch directory made by global-setup.ts, and a way to make a
// fresh, private subdirectory of it for one test.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function runDir(): string {
  return process.env.IMGFACTORY_TEST_RUN_DIR ?? tmpdir();
}

export async function scratchDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(runDir(), `${prefix}-`));
}
