// Tree checkpoints: the root tree as it stood after one step, kept in the
// cache as a hard-link copy (`cp -al`), so that a rebuild resumes there
// instead of applying every cached layer below it again. Applying a layer is
// a full extraction (the controller's package layer is 1.1 GiB of zstd); a
// hard-link copy of the tree costs only its directories and links (0.2 s for
// a 9 k-entry tree). mkosi keeps one such snapshot; this keeps a few per
// image, keyed by the layer key of the step they end at.
//
//   <cache>/trees-v1/<key hex>/tree        the root tree after that step
//   <cache>/trees-v1/<key hex>/meta.json   {key, image, step}; its mtime is the last use
//   <cache>/trees-v1/.new.tmp-*            being made (a temp name: util/atomic-write.ts)
//   <cache>/trees-v1/.old.tmp-*            being removed
//
// Sharing inodes with build trees is safe because nothing ever writes a tree
// file in place: a layer is applied by unlinking a path before creating it
// (layer-apply.ts), hooks see the tree only through an overlay, and
// block-device.d hooks get it read-only (disk-output.ts). A checkpoint is
// made only from layers just built or integrity-checked when applied, and
// only for a key the index holds.
//
// Removal renames a checkpoint away before deleting it, and a restore checks
// afterwards that the checkpoint is still in place: a copy that raced a
// removal is thrown away rather than used half-made.
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hexOf, type LayerKey } from './digest.js';
import { TREES_DIR } from './format.js';
import { mustRun, run } from '../process/run.js';
import { sameFilesystem } from '../util/same-filesystem.js';
import { tempPathFor } from '../util/atomic-write.js';

export interface CheckpointMeta {
  key: LayerKey;
  image: string;
  step: string;
}

export interface Checkpoint extends CheckpointMeta {
  dir: string;
  lastUse: number;
}

const treesRoot = (cache: string): string => path.join(cache, TREES_DIR);
const checkpointDir = (cache: string, key: LayerKey): string => path.join(treesRoot(cache), hexOf(key));
const tempName = (cache: string, what: 'new' | 'old'): string => tempPathFor(path.join(treesRoot(cache), what));

export async function hasCheckpoint(cache: string, key: LayerKey): Promise<boolean> {
  return stat(path.join(checkpointDir(cache, key), 'meta.json')).then(
    () => true,
    () => false,
  );
}

/**
 * Keeps `tree` as the checkpoint of `meta.key`. Returns false (and leaves
 * nothing behind) when it cannot: another filesystem than the cache's (hard
 * links cannot cross), or out of space. Never fails the build.
 */
export async function saveCheckpoint(cache: string, tree: string, meta: CheckpointMeta): Promise<boolean> {
  if (await hasCheckpoint(cache, meta.key)) return true;
  await mkdir(treesRoot(cache), { recursive: true });
  if (!(await sameFilesystem(tree, treesRoot(cache)))) return false;
  const tmp = tempName(cache, 'new');
  try {
    await mkdir(tmp);
    await mustRun('cp', ['-a', '-l', '--no-target-directory', tree, path.join(tmp, 'tree')]);
    await writeFile(path.join(tmp, 'meta.json'), `${JSON.stringify(meta)}\n`);
    await rename(tmp, checkpointDir(cache, meta.key));
    return true;
  } catch {
    // Another build made it first (rename onto a non-empty dir), or the copy failed.
    await rm(tmp, { recursive: true, force: true });
    return hasCheckpoint(cache, meta.key);
  }
}

/**
 * Makes `tree` (which must not exist yet) a hard-link copy of the checkpoint
 * of `key`. Returns false, with `tree` absent, when there is none or it went
 * away during the copy.
 */
export async function restoreCheckpoint(cache: string, key: LayerKey, tree: string): Promise<boolean> {
  const dir = checkpointDir(cache, key);
  const meta = path.join(dir, 'meta.json');
  const before = await stat(meta).catch(() => null);
  if (!before) return false;
  if (!(await sameFilesystem(path.dirname(tree), dir))) return false; // e.g. a tree in tmpfs
  const copied = await run('cp', ['-a', '-l', '--no-target-directory', path.join(dir, 'tree'), tree]);
  const after = await stat(meta).catch(() => null);
  // A failed copy is no error: the build applies the layers instead.
  if (!copied.ok || !after || after.ino !== before.ino) {
    await rm(tree, { recursive: true, force: true });
    return false;
  }
  const now = new Date();
  await utimes(meta, now, now).catch(() => undefined);
  return true;
}

export async function listCheckpoints(cache: string): Promise<Checkpoint[]> {
  const names = await readdir(treesRoot(cache)).catch(() => [] as string[]);
  const found: Checkpoint[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const dir = path.join(treesRoot(cache), name);
    try {
      const file = path.join(dir, 'meta.json');
      const meta = JSON.parse(await readFile(file, 'utf8')) as CheckpointMeta;
      found.push({ ...meta, dir, lastUse: (await stat(file)).mtimeMs });
    } catch {
      // being made or removed by another build
    }
  }
  return found;
}

/** Removes one checkpoint: renamed away first, so no restore can take it half-deleted. */
export async function removeCheckpoint(cache: string, key: LayerKey): Promise<void> {
  const tmp = tempName(cache, 'old');
  try {
    await rename(checkpointDir(cache, key), tmp);
  } catch {
    return; // not there
  }
  await rm(tmp, { recursive: true, force: true });
}

/** Keeps the `keep` most recently used checkpoints of `image`, removes its older ones. */
export async function pruneCheckpoints(cache: string, image: string, keep: number): Promise<void> {
  const mine = (await listCheckpoints(cache)).filter((c) => c.image === image).sort((a, b) => b.lastUse - a.lastUse);
  for (const old of mine.slice(keep)) await removeCheckpoint(cache, old.key);
}

/** Bytes the checkpoints hold on disk, each inode counted once (`du -s`). */
export async function checkpointBytes(cache: string): Promise<number> {
  const r = await run('du', ['-s', '-B1', treesRoot(cache)]);
  return r.ok ? Number(r.value.stdout.split(/\s/)[0]) : 0; // no trees dir yet, or unreadable: nothing to count
}
