// Vitest setup file, run in every test file's worker: when the file ends, the
// scratch directories its tests made (run-dir.ts) are removed, so a run's
// disk use stays near that of its largest file instead of their sum.
import { afterAll } from 'vitest';
import { madeFileDir } from './run-dir.js';
import { removeTree } from './remove-tree.js';

afterAll(async () => {
  const dir = madeFileDir();
  if (dir) await removeTree(await dir);
});
