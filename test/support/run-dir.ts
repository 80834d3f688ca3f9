// The per-run scratch directory made by global-setup.ts (for fixtures shared
// by every file, such as the Debian base tree), and fresh, private
// subdirectories for one test file's own work: they live under a directory
// of that file's, which file-dir.ts removes when the file ends.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function runDir(): string {
  return process.env.IMGFACTORY_TEST_RUN_DIR ?? tmpdir();
}

let fileDir: Promise<string> | undefined;

/** This test file's directory (made on first use), or undefined if none was made. */
export function madeFileDir(): Promise<string> | undefined {
  return fileDir;
}

export async function scratchDir(prefix: string): Promise<string> {
  fileDir ??= mkdir(path.join(runDir(), 'files'), { recursive: true }).then(() => mkdtemp(path.join(runDir(), 'files', 'f-')));
  return mkdtemp(path.join(await fileDir, `${prefix}-`));
}
