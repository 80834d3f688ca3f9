// One index bucket: an append-only text file holding the records of the keys
// that hash to it. Each record is one line carrying its own checksum, so a
// torn or tampered line is skipped, never trusted:
//
//   <cache>/index-v3/<h[0:2]>/<h[2:4]>/<h>      h = sha256(key), hex
//   "\n<sha1 of json>\t<json>"                   json = IndexRecord
//
// The checksum catches a torn or damaged line, not a rewritten one: what
// binds a key to its blob is the descriptor a line names
// (entry-descriptor.ts), checked on every read (store-local.ts).
//
// Each append starts with a newline, so a line left torn by a crash never
// swallows the next one. Appends are single O_APPEND writes (atomic with
// respect to other appenders on a local filesystem) followed by fdatasync.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseIntegrity } from './content-path.js';
import type { Integrity } from './digest.js';
import { INDEX_DIR } from './format.js';

/** One line of a bucket: an entry, or (integrity and descriptor null) the deletion of a key. */
export interface IndexRecord {
  key: string;
  /** The blob. */
  integrity: Integrity | null;
  /** The entry's descriptor: what the key is bound to (entry-descriptor.ts). */
  descriptor: Integrity | null;
  /** Size of the blob in bytes. */
  size: number;
  /** When the record was written (ms since the epoch). */
  time: number;
}

export interface ParsedBucket {
  records: IndexRecord[];
  /** Lines whose checksum or shape was wrong (skipped). */
  badLines: number;
}

export function indexRoot(cache: string): string {
  return path.join(cache, INDEX_DIR);
}

export function bucketPath(cache: string, key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return path.join(indexRoot(cache), h.slice(0, 2), h.slice(2, 4), h);
}

export function formatLine(record: IndexRecord): string {
  const json = JSON.stringify(record);
  return `\n${sha1(json)}\t${json}`;
}

export function parseBucket(text: string): ParsedBucket {
  const records: IndexRecord[] = [];
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const record = parseLine(line);
    if (record) records.push(record);
    else badLines++;
  }
  return { records, badLines };
}

/**
 * Appends one record to its key's bucket. A line that could not be written
 * whole (a full disk) is cut off again, so the bucket never holds half a line.
 */
export async function appendRecord(cache: string, record: IndexRecord): Promise<void> {
  const file = bucketPath(cache, record.key);
  await mkdir(path.dirname(file), { recursive: true });
  const fh = await open(file, 'a', 0o644);
  const line = Buffer.from(formatLine(record));
  const before = (await fh.stat()).size;
  try {
    const { bytesWritten } = await fh.write(line);
    if (bytesWritten !== line.length) throw Object.assign(new Error(`ENOSPC: no space left on device, write ${file}`), { code: 'ENOSPC', path: file });
    await fh.datasync();
  } catch (e) {
    await fh.truncate(before).catch(() => undefined);
    throw e;
  } finally {
    await fh.close();
  }
}

/** The records of one bucket file (empty if it does not exist). */
export async function readBucket(file: string): Promise<ParsedBucket> {
  try {
    return parseBucket(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], badLines: 0 };
    throw err;
  }
}

function parseLine(line: string): IndexRecord | null {
  const tab = line.indexOf('\t');
  if (tab < 0) return null;
  const sum = line.slice(0, tab);
  const json = line.slice(tab + 1);
  if (sha1(json) !== sum) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  return isRecord(value) ? value : null;
}

function isRecord(v: unknown): v is IndexRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  if (typeof r.key !== 'string' || typeof r.size !== 'number' || typeof r.time !== 'number') return false;
  if (r.integrity === null) return r.descriptor === null;
  return isIntegrity(r.integrity) && isIntegrity(r.descriptor);
}

function isIntegrity(v: unknown): v is Integrity {
  return typeof v === 'string' && parseIntegrity(v) !== null;
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
