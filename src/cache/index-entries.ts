// The index: key -> blob and descriptor integrity and size, on top of the
// append-only buckets of index-bucket.ts. The newest valid record of a key
// wins; a deletion is a record too. The last use of an entry is the bucket's
// mtime: every put appends to it, and every hit refreshes it with one utimes
// call (cheap, and no growth of the bucket), so gc can evict the least
// recently used entries.
import { stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Integrity } from './digest.js';
import { appendRecord, bucketPath, indexRoot, readBucket, type IndexRecord } from './index-bucket.js';
import { readdirSorted } from '../util/readdir-sorted.js';

/** A live index entry. */
export interface IndexEntry {
  key: string;
  integrity: Integrity;
  /** The descriptor that binds `key` to the blob. */
  descriptor: Integrity;
  size: number;
  /** When it was written (ms since the epoch). */
  time: number;
  /** When it was last written or found (ms since the epoch). */
  lastUse: number;
}

export interface PutInput {
  integrity: Integrity;
  descriptor: Integrity;
  size: number;
}

export async function put(cache: string, key: string, input: PutInput): Promise<IndexEntry> {
  const record = { key, integrity: input.integrity, descriptor: input.descriptor, size: input.size, time: Date.now() };
  await appendRecord(cache, record);
  return { ...record, lastUse: record.time };
}

export interface GetOptions {
  /** Record this lookup as a use (default true). */
  touch?: boolean;
  /** Told when the key's bucket holds damaged lines (one of them may have been this key's entry). */
  onBadLines?: (count: number, bucket: string) => void;
}

/** The live entry of `key`, or null if it has none (never written, or removed). */
export async function get(cache: string, key: string, opts: GetOptions = {}): Promise<IndexEntry | null> {
  const file = bucketPath(cache, key);
  const { records, badLines } = await readBucket(file);
  if (badLines > 0) opts.onBadLines?.(badLines, file);
  const entry = newest(records.filter((r) => r.key === key));
  if (!entry) return null;
  if (opts.touch === false) return { ...entry, lastUse: (await mtimeOf(file)) ?? entry.time };
  const now = new Date();
  await utimes(file, now, now).catch(() => undefined);
  return { ...entry, lastUse: now.getTime() };
}

/** Removes `key` from the index (appends a deletion record). */
export async function rm(cache: string, key: string): Promise<void> {
  await appendRecord(cache, { key, integrity: null, descriptor: null, size: 0, time: Date.now() });
}

export interface Listing {
  entries: IndexEntry[];
  /** Lines skipped because their checksum or shape was wrong. */
  badLines: number;
}

/** Every live entry of the index, with the count of damaged lines seen. */
export async function ls(cache: string): Promise<Listing> {
  const entries: IndexEntry[] = [];
  let badLines = 0;
  for (const file of await bucketFiles(cache)) {
    const bucket = await readBucket(file);
    badLines += bucket.badLines;
    const mtime = await mtimeOf(file);
    const byKey = new Map<string, IndexRecord[]>();
    for (const r of bucket.records) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    for (const records of byKey.values()) {
      const entry = newest(records);
      if (entry) entries.push({ ...entry, lastUse: mtime ?? entry.time });
    }
  }
  return { entries, badLines };
}

/** Every bucket file under the index directory. */
export async function bucketFiles(cache: string): Promise<string[]> {
  const root = indexRoot(cache);
  const files: string[] = [];
  for (const a of await readdirSorted(root)) {
    for (const b of await readdirSorted(path.join(root, a))) {
      for (const h of await readdirSorted(path.join(root, a, b))) files.push(path.join(root, a, b, h));
    }
  }
  return files;
}

/** The last record of a key's records in append order, unless it is a deletion. */
function newest(records: IndexRecord[]): Omit<IndexEntry, 'lastUse'> | null {
  const last = records[records.length - 1];
  if (!last || last.integrity === null || last.descriptor === null) return null;
  return { ...last, integrity: last.integrity, descriptor: last.descriptor };
}

async function mtimeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}
