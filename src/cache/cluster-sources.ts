// The last compressed qcow2 each image wrote, kept in the cache with the
// index of its clusters (src/image/qcow2.ts), so that the next build of the
// image compresses only the clusters that changed: after one changed
// finalise.d hook, nearly every 64 KiB of the disk is what it was.
//
//   <cache>/qcow2-clusters-v1/<sha256(image, codec id)>/disk.qcow2        a hard link to the published output (a copy across filesystems)
//   <cache>/qcow2-clusters-v1/<sha256(image, codec id)>/disk.qcow2.index  its index
//   <cache>/qcow2-clusters-v1/.new.tmp-* / .old.tmp-*                     being put in place / removed
//
// Nothing here is trusted: the writer takes a cluster from the file only
// when its bytes decompress to the very cluster it is writing, and ignores
// an index of another codec id. A missing, damaged or half-replaced source
// costs compression time, never a wrong byte. One source per image and
// codec: a new write replaces it (rename), so it never grows.
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { CLUSTERS_DIR } from './format.js';
import { tempPathFor } from '../util/atomic-write.js';

/** Where an image's qcow2 and its index are kept for the next build. */
export interface ClusterSource {
  qcow2: string;
  index: string;
}

/** The source of `image` written with `codecId` (the files may not exist yet). */
export function clusterSource(cacheDir: string, image: string, codecId: string): ClusterSource {
  const dir = path.join(cacheDir, CLUSTERS_DIR, createHash('sha256').update(`${image}\0${codecId}`).digest('hex'));
  return { qcow2: path.join(dir, 'disk.qcow2'), index: path.join(dir, 'disk.qcow2.index') };
}

/** Replaces `to` with `qcow2` (hard-linked where it can be) and `index` (moved). */
export async function keepClusterSource(to: ClusterSource, qcow2: string, index: string): Promise<void> {
  const dir = path.dirname(to.qcow2);
  await mkdir(path.dirname(dir), { recursive: true });
  const fresh = tempPathFor(path.join(path.dirname(dir), 'new'));
  const old = tempPathFor(path.join(path.dirname(dir), 'old'));
  try {
    await mkdir(fresh);
    await link(qcow2, path.join(fresh, 'disk.qcow2')).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EXDEV' && e.code !== 'EPERM') throw e;
      await copyFile(qcow2, path.join(fresh, 'disk.qcow2'));
    });
    await rename(index, path.join(fresh, 'disk.qcow2.index'));
    await rename(dir, old).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(fresh, dir);
  } finally {
    await rm(fresh, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}
