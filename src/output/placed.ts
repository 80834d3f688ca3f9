// What an output file in the output directory holds, remembered by the file's
// identity, so a no-op build need not read gigabytes to learn that the output
// in place is already the cached one. The record sits beside the output as
// `.<name>.<ext>.placed` and holds the sha256 together with the device,
// inode, size, mtime and ctime (nanoseconds) the file had when imgfactory put
// it there. Any write, truncation, replacement or `touch` changes the ctime
// (which no user can set), so a record that still matches means the bytes are
// the ones imgfactory wrote; anything else means "unknown" and the caller
// hashes the file.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

interface Placed {
  sha256: string;
  identity: string;
}

const recordPath = (file: string): string => path.join(path.dirname(file), `.${path.basename(file)}.placed`);

async function identity(file: string): Promise<string | null> {
  const s = await stat(file, { bigint: true }).catch(() => null);
  if (!s || !s.isFile()) return null;
  return [s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(':');
}

/** Records that `file` (already in its final place) holds bytes with this sha256. */
export async function recordPlaced(file: string, sha256: string): Promise<void> {
  const id = await identity(file);
  if (id === null) return;
  const record: Placed = { sha256, identity: id };
  await writeFileAtomic(recordPath(file), JSON.stringify(record));
}

/** The sha256 of `file` if a record says so and the file is untouched since; otherwise null. */
export async function placedSha256(file: string): Promise<string | null> {
  const text = await readFile(recordPath(file), 'utf8').catch(() => null);
  if (text === null) return null;
  let record: Placed;
  try {
    record = JSON.parse(text) as Placed;
  } catch {
    return null;
  }
  return typeof record.sha256 === 'string' && record.identity === (await identity(file)) ? record.sha256 : null;
}
