// Garbage collection of a local cache: removes blobs no entry references,
// then the least recently used entries (and their blobs and descriptors,
// once nothing else references them) until the content is under `maxSize`. Entries whose key is
// locked by a live build, or that were used within `graceMs` (a build may
// just have found them and be reading the blob), are never removed; nor are
// unreferenced blobs younger than `graceMs` (a writer renames the blob in
// before it appends the index line). Leftover temp files go too.
//
// Tree checkpoints (checkpoints.ts) count towards the size. They are only an
// accelerator, so when the cache is over `maxSize` they go first (least
// recently used first), before any entry; a checkpoint whose entry is gone
// always goes. Directories of earlier cache formats (format.ts) go too.
import { readdir, rm as rmPath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isTempName } from '../util/atomic-write.js';
import { integrityHex, listBlobs, type BlobFile } from './content-path.js';
import { removeBlob } from './content-rm.js';
import { checkpointBytes, listCheckpoints, removeCheckpoint } from './checkpoints.js';
import { LOCKS_DIR, OBSOLETE_DIRS, TMP_DIR, TREES_DIR } from './format.js';
import { ls, rm, type IndexEntry } from './index-entries.js';
import { lockState } from './lock.js';

export interface GcOptions {
  /** Target size of the content store in bytes. */
  maxSize: number;
  /** Recently used entries and recently written blobs are kept (default 10 minutes). */
  graceMs?: number;
  /** Passed to the lock check: when a foreign holder counts as dead. */
  staleMs?: number | undefined;
  /** Temp files and lock set-up dirs older than this are removed (default one day). */
  tmpMaxAgeMs?: number;
}

export interface GcReport {
  sizeBefore: number;
  sizeAfter: number;
  /** Keys whose entries were removed, least recently used first. */
  removedEntries: string[];
  removedBlobs: number;
  /** Tree checkpoints removed (their entry gone, or the cache over maxSize). */
  removedCheckpoints: number;
  freedBytes: number;
  /** Directories of earlier cache formats that were removed (never read by this version). */
  removedObsolete: string[];
  /** Keys kept although they were candidates: locked or recently used. */
  keptInUse: string[];
  /** Whether the store ended at or under maxSize. */
  underLimit: boolean;
}

export async function gc(cache: string, opts: GcOptions): Promise<GcReport> {
  const graceMs = opts.graceMs ?? 10 * 60_000;
  const now = Date.now();
  const present = await names(cache);
  const removedObsolete = OBSOLETE_DIRS.filter((d) => present.includes(d));
  for (const dir of removedObsolete) await rmPath(path.join(cache, dir), { recursive: true, force: true });
  const blobs = new Map<string, BlobFile>();
  for await (const b of listBlobs(cache)) blobs.set(integrityHex(b.integrity), b);
  const blobBytes = sum([...blobs.values()].map((b) => b.size));
  const sizeBefore = blobBytes + (await checkpointBytes(cache));
  let size = sizeBefore;
  let removedBlobs = 0;

  const { entries } = await ls(cache);
  const removedCheckpoints = await dropCheckpoints(cache, new Set(entries.map((e) => e.key)), blobBytes, opts.maxSize);
  size = blobBytes + (await checkpointBytes(cache));
  const refs = new Map<string, number>();
  const referenced = (e: IndexEntry): string[] => [integrityHex(e.integrity), integrityHex(e.descriptor)];
  for (const e of entries) for (const hex of referenced(e)) refs.set(hex, (refs.get(hex) ?? 0) + 1);

  const dropBlob = async (hex: string): Promise<void> => {
    const blob = blobs.get(hex);
    if (!blob) return;
    blobs.delete(hex);
    if (await removeBlob(cache, blob.integrity)) {
      size -= blob.size;
      removedBlobs++;
    }
  };

  for (const [hex, blob] of [...blobs]) {
    if (!refs.has(hex) && now - blob.mtimeMs > graceMs) await dropBlob(hex);
  }

  const removedEntries: string[] = [];
  const keptInUse: string[] = [];
  const byLastUse = [...entries].sort((a, b) => a.lastUse - b.lastUse);
  for (const entry of byLastUse) {
    if (size <= opts.maxSize) break;
    if (await inUse(cache, entry, now, graceMs, opts.staleMs)) {
      keptInUse.push(entry.key);
      continue;
    }
    await rm(cache, entry.key);
    removedEntries.push(entry.key);
    for (const hex of referenced(entry)) {
      const left = (refs.get(hex) ?? 1) - 1;
      refs.set(hex, left);
      if (left === 0) await dropBlob(hex);
    }
  }

  await removeOldTemp(cache, now, opts.tmpMaxAgeMs ?? 24 * 60 * 60_000);
  return {
    sizeBefore,
    sizeAfter: size,
    removedEntries,
    removedBlobs,
    removedCheckpoints,
    freedBytes: sizeBefore - size,
    removedObsolete,
    keptInUse,
    underLimit: size <= opts.maxSize,
  };
}

/** Removes checkpoints of missing entries, then least recently used ones while blobs + checkpoints exceed maxSize. */
async function dropCheckpoints(cache: string, keys: Set<string>, blobBytes: number, maxSize: number): Promise<number> {
  let removed = 0;
  const all = (await listCheckpoints(cache)).sort((a, b) => a.lastUse - b.lastUse);
  for (const c of all.filter((c) => !keys.has(c.key))) {
    await removeCheckpoint(cache, c.key);
    removed++;
  }
  for (const c of all.filter((c) => keys.has(c.key))) {
    if (blobBytes + (await checkpointBytes(cache)) <= maxSize) break;
    await removeCheckpoint(cache, c.key);
    removed++;
  }
  return removed;
}

async function inUse(cache: string, entry: IndexEntry, now: number, graceMs: number, staleMs?: number): Promise<boolean> {
  if (now - entry.lastUse < graceMs) return true;
  const lock = await lockState(cache, entry.key, staleMs === undefined ? {} : { staleMs });
  return lock?.alive === true;
}

/** Temp blobs of writers that died, and lock set-up dirs of takers that died. */
async function removeOldTemp(cache: string, now: number, maxAgeMs: number): Promise<void> {
  const candidates = [
    ...(await names(path.join(cache, TMP_DIR))).map((n) => path.join(cache, TMP_DIR, n)),
    ...(await names(path.join(cache, LOCKS_DIR))).filter(isTempName).map((n) => path.join(cache, LOCKS_DIR, n)),
    ...(await names(path.join(cache, TREES_DIR))).filter(isTempName).map((n) => path.join(cache, TREES_DIR, n)),
  ];
  for (const p of candidates) {
    try {
      if (now - (await stat(p)).mtimeMs > maxAgeMs) await rmPath(p, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
