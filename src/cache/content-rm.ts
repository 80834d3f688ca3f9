// Removing blobs. A damaged blob is removed only if the file at its path is
// still the one found damaged (same inode): a writer may have renamed a good
// copy into place meanwhile, and that one must stay.
import { stat, unlink } from 'node:fs/promises';
import { blobPath } from './content-path.js';
import type { Integrity } from './digest.js';

/** Removes the blob; true if it was there. */
export async function removeBlob(cache: string, integrity: Integrity): Promise<boolean> {
  try {
    await unlink(blobPath(cache, integrity));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Removes the file at `file` if it is still inode `ino` of device `dev`. */
export async function removeIfSameFile(file: string, dev: number, ino: number): Promise<boolean> {
  try {
    const st = await stat(file);
    if (st.dev !== dev || st.ino !== ino) return false;
    await unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
