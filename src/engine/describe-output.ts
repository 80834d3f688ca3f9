// What an output file is, learnt by reading it: its hashes (one pass, see
// src/util/hash-file.ts) and the size the guest sees (`qemu-img info`; larger
// than the file for a qcow2). Builds know both when they write a file or
// find them in its cache entry; this is for files nobody described yet
// (cache entries from before outputs carried them).
import { fail, ok, type Result } from '../failure.js';
import { imageInfo } from '../image/qemu-img.js';
import { hashFile, type FileHashes } from '../util/hash-file.js';
import { formatOf, isImageFormat, type OutputType } from '../output/formats.js';

export interface Described {
  hashes: FileHashes;
  /** Bytes the guest sees; the file's size for raw disks and tree archives. */
  virtualSize: number;
}

export async function describeFile(file: string, format: OutputType): Promise<Result<Described>> {
  let hashes: FileHashes;
  try {
    hashes = await hashFile(file);
  } catch (e) {
    return fail({ reason: 'io', what: `hashing ${file}`, message: (e as Error).message });
  }
  if (!isImageFormat(format) || formatOf(format).qemu?.format === 'raw') return ok({ hashes, virtualSize: hashes.size });
  const info = await imageInfo(file, format);
  return info.ok ? ok({ hashes, virtualSize: info.value.virtualSize }) : info;
}
