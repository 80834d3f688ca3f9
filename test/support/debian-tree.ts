// A real minimal Debian root tree (mmdebstrap minbase, bookworm), built at most
// once per test run (run-once.ts) and shared read-only by every integration
// test. Tests that change a tree copy it first with copyDebianTree().
import { execa } from 'execa';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { runDir } from './run-dir.js';
import { onceInRun } from './run-once.js';

const MIRROR = process.env.DIB_DISTRIBUTION_MIRROR ?? 'http://deb.debian.org/debian';

/** Path of the shared tree; builds it on first use in this run. Do not modify it. */
export async function debianTree(): Promise<string> {
  const dir = path.join(runDir(), 'debian-minbase');
  await onceInRun('debian-minbase', async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(path.dirname(dir), { recursive: true });
    await execa('mmdebstrap', ['--variant=minbase', '--mode=root', '--include=libcap2-bin', 'bookworm', dir, MIRROR], {
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
  });
  return dir;
}

/** A private copy of the shared tree (all metadata preserved) at `dest`. */
export async function copyDebianTree(dest: string): Promise<string> {
  const src = await debianTree();
  await execa('cp', ['-a', '--reflink=auto', `${src}/.`, dest]);
  return dest;
}

