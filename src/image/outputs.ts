// Publishing outputs: each file is written under a temporary name in the
// output directory and renamed into place only once complete, with a
// `<name>.sha256` (sha256sum format) beside it.
//
//   outputDir/.<name>.<ext>.<pid>.tmp  --rename-->  outputDir/<name>.<ext>
//                                                   outputDir/<name>.<ext>.sha256
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashFile, type FileHashes } from '../util/hash-file.js';
import { recordPlaced } from './placed.js';

/** The temporary name an output is built under, in the same directory (so rename is atomic). */
export function tempOutputPath(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${process.pid}.tmp`);
}

/**
 * Renames a finished temp file into place and writes its .sha256; returns its
 * hashes (one read for all of them: the cache and the manifest reuse them).
 */
export async function publishOutput(tempPath: string, finalPath: string): Promise<FileHashes> {
  const hashes = await hashFile(tempPath);
  const sha256 = hashes.sha256;
  const sumTmp = tempOutputPath(`${finalPath}.sha256`);
  await writeFile(sumTmp, `${sha256}  ${path.basename(finalPath)}\n`);
  await rename(tempPath, finalPath);
  await rename(sumTmp, `${finalPath}.sha256`);
  await recordPlaced(finalPath, sha256);
  return hashes;
}

/** Removes leftovers of a failed run (best effort). */
export async function discard(paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}
