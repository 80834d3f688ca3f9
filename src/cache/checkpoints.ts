// Tree checkpoints: the root tree as it stood after one step, kept in the
// cache as a hard-link copy (`cp -al`), so that a rebuild resumes there
// instead of applying every cached layer below it again. Applying a layer is
// a full extraction (the controller's package layer is 1.1 GiB of zstd); a
// hard-link copy of the tree costs only its directories and links (0.2 s for
// a 9 k-entry tree). mkosi keeps one such snapshot; this keeps a few per
// image, keyed by the layer key of the step they end at.
//
//   <cache>/trees-v2/<key hex>/tree        the root tree after that step
//   <cache>/trees-v2/<key hex>/record      what it held when made (tree-record.ts)
//   <cache>/trees-v2/<key hex>/meta.json   {key, layer, image, step}; its mtime is the last use
//   <cache>/trees-v2/.new.tmp-*            being made (a temp name: util/atomic-write.ts)
//   <cache>/trees-v2/.old.tmp-*            being removed
//
// Sharing inodes with build trees is safe as long as nothing writes a tree
// file in place: a layer is applied by unlinking a path before creating it
// (layer-apply.ts), hooks see the tree only through an overlay, and
// block-device.d hooks get it read-only (disk-output.ts). A checkpoint is
// made only from layers just built or integrity-checked when applied, and
// only for a key the index holds. What imgfactory does not write, a person
// or a tool may (an editor in build/, a write through a hard link), so a
// checkpoint is not trusted blindly: a restore checks the restored tree
// against the checkpoint's record, and that the checkpoint is the one of
// the step and layer asked for (meta.json's key and layer); one that fails
// is reported, removed, and the build applies the layers instead.
//
// Removal renames a checkpoint away before deleting it, and a restore checks
// afterwards that the checkpoint is still in place: a copy that raced a
// removal is thrown away rather than used half-made.
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hexOf, type FileDigest, type LayerKey } from './digest.js';
import { TREES_DIR } from './format.js';
import { contentProblem, encodeRecord, parseRecord, recordTree, statProblem, type KnownDigests, type RecordLine } from './tree-record.js';
import { mustRun, run } from '../process/run.js';
import { sameFilesystem } from '../util/same-filesystem.js';
import { tempPathFor } from '../util/atomic-write.js';

export interface CheckpointMeta {
  /** The key of the step the tree stands after. */
  key: LayerKey;
  /** sha256 of that step's layer blob: with the key, which bytes the tree holds (--refresh may change them under one key). */
  layer: FileDigest;
  image: string;
  step: string;
}

/** A restore: done, or not, and then why not when the checkpoint was at fault (it is removed). */
export type Restored = { restored: true } | { restored: false; damaged?: string };

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
 * Keeps `tree` as the checkpoint of `meta.key`, with its record (file
 * digests in `known` are taken, not read again): a hard-link copy of it, or
 * with `how: 'move'` the tree itself, renamed into the cache — for a tree
 * the build is done with (it is gone afterwards unless this returns early:
 * the checkpoint exists already, or the tree is on another filesystem).
 * Returns false (and leaves nothing behind) when it cannot: another
 * filesystem than the cache's (hard links cannot cross), or out of space.
 * Never fails the build.
 */
export async function saveCheckpoint(cache: string, tree: string, meta: CheckpointMeta, known?: KnownDigests, how: 'link' | 'move' = 'link'): Promise<boolean> {
  if (await hasCheckpoint(cache, meta.key)) return true;
  await mkdir(treesRoot(cache), { recursive: true });
  if (!(await sameFilesystem(tree, treesRoot(cache)))) return false;
  const tmp = tempName(cache, 'new');
  try {
    await mkdir(tmp);
    if (how === 'move') await rename(tree, path.join(tmp, 'tree'));
    else await mustRun('cp', ['-a', '-l', '--no-target-directory', tree, path.join(tmp, 'tree')]);
    await writeFile(path.join(tmp, 'record'), encodeRecord(await recordTree(path.join(tmp, 'tree'), known)));
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
 * of `key`, whose step's layer is `layer`, and checks the copy against the
 * checkpoint's record (the digests of its files go into `known`). Not
 * restored, with `tree` absent, when there is none, it went away during the
 * copy, or (`damaged`: it is removed) it is not what it should be.
 */
export async function restoreCheckpoint(cache: string, key: LayerKey, layer: FileDigest, tree: string, known?: KnownDigests): Promise<Restored> {
  const dir = checkpointDir(cache, key);
  const metaFile = path.join(dir, 'meta.json');
  const before = await stat(metaFile).catch(() => null);
  if (!before) return { restored: false };
  if (!(await sameFilesystem(path.dirname(tree), dir))) return { restored: false }; // e.g. a tree in tmpfs
  const held = await readHeld(dir);
  if (held === null) return { restored: false }; // removed meanwhile
  if (typeof held === 'string') return damaged(cache, key, held);
  if (held.meta.key !== key || held.meta.layer !== layer) return damaged(cache, key, `is the checkpoint of another step (${held.meta.step})`);
  const copied = await run('cp', ['-a', '-l', '--no-target-directory', path.join(dir, 'tree'), tree]);
  const after = await stat(metaFile).catch(() => null);
  // A failed copy is no error: the build applies the layers instead.
  if (!copied.ok || !after || after.ino !== before.ino) {
    await rm(tree, { recursive: true, force: true });
    return { restored: false };
  }
  // Checked on the copy, whose files are the checkpoint's inodes: what the build will use.
  const changed = statProblem(tree, held.record, known);
  if (changed !== null) {
    await rm(tree, { recursive: true, force: true });
    return damaged(cache, key, `changed since it was made: ${changed}`);
  }
  const now = new Date();
  await utimes(metaFile, now, now).catch(() => undefined);
  return { restored: true };
}

/**
 * Checks a checkpoint fully (`cache verify`): that it is kept under its own
 * key, and every file's content and xattrs against its record. Null when it
 * holds (or is gone); otherwise what is wrong (and it is removed). `known`
 * carries digests read from files in this check already (checkpoints share
 * inodes).
 */
export async function verifyCheckpoint(cache: string, checkpoint: Checkpoint, known: KnownDigests): Promise<string | null> {
  const held = await readHeld(checkpoint.dir);
  if (held === null) return null;
  let wrong: string | null;
  if (typeof held === 'string') wrong = held;
  else if (path.basename(checkpoint.dir) !== hexOf(held.meta.key)) wrong = `is kept under another key (${path.basename(checkpoint.dir)})`;
  else {
    const changed = await contentProblem(path.join(checkpoint.dir, 'tree'), held.record, known);
    wrong = changed === null ? null : `changed since it was made: ${changed}`;
  }
  if (wrong !== null) await removeDir(cache, checkpoint.dir);
  return wrong;
}

/** A checkpoint's meta.json and record; null when there is no meta.json (gone, or being made); what is wrong with them otherwise. */
async function readHeld(dir: string): Promise<{ meta: CheckpointMeta; record: RecordLine[] } | string | null> {
  let metaText: string;
  try {
    metaText = await readFile(path.join(dir, 'meta.json'), 'utf8');
  } catch {
    return null;
  }
  try {
    const meta = JSON.parse(metaText) as CheckpointMeta;
    const record = parseRecord(await readFile(path.join(dir, 'record'), 'utf8'));
    return record ? { meta, record } : 'has a damaged record';
  } catch (e) {
    return `cannot be read (${(e as Error).message})`;
  }
}

async function damaged(cache: string, key: LayerKey, why: string): Promise<Restored> {
  await removeCheckpoint(cache, key);
  return { restored: false, damaged: why };
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
  await removeDir(cache, checkpointDir(cache, key));
}

async function removeDir(cache: string, dir: string): Promise<void> {
  const tmp = tempName(cache, 'old');
  try {
    await rename(dir, tmp);
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
