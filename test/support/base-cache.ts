// A layer cache holding the Debian base tree (bookworm, minbase), built once
// per test run by imgfactory itself and copied into each test's own cache, so
// integration tests share one bootstrap instead of running mmdebstrap each.
import { execa } from 'execa';
import path from 'node:path';
import { imgfactory } from './imgfactory.js';
import { runDir } from './run-dir.js';
import { onceInRun } from './run-once.js';

export async function baseCache(): Promise<string> {
  const dir = path.join(runDir(), 'base-cache');
  await onceInRun('base-cache', async () => {
    const r = await imgfactory(['build', 'base', '-t', 'tar', '--cache-dir', dir, '--build-dir', path.join(runDir(), 'base-build'), '-o', path.join(runDir(), 'base-out')]);
    if (r.exitCode !== 0) throw new Error(`building the shared base cache failed:\n${r.stderr}`);
  });
  return dir;
}

/** A private cache at `dest` that already holds the base tree layer. */
export async function cacheWithBase(dest: string): Promise<string> {
  await execa('cp', ['-a', `${await baseCache()}/.`, dest]);
  return dest;
}
