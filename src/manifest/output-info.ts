// Describes one output file for the manifest: its hashes (one pass, see
// hash-file.ts) and the size the guest sees (`qemu-img info`), which for a
// qcow2 is larger than the file.
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { imageInfo, IMAGE_FORMATS, type ImageFormat } from '../image/qemu-img.js';
import { hashFile, type FileHashes } from '../util/hash-file.js';
import type { ManifestOutput } from './manifest.js';

/** `known`: the file's hashes when its writer took them (then it is not read again). */
export async function describeOutput(file: string, format: string, known?: FileHashes): Promise<Result<ManifestOutput>> {
  let hashes = known;
  try {
    hashes ??= await hashFile(file);
  } catch (e) {
    return fail({ reason: 'io', what: `hashing ${file}`, message: (e as Error).message });
  }
  let virtualSize = hashes.size;
  if ((IMAGE_FORMATS as readonly string[]).includes(format) && format !== 'raw') {
    const info = await imageInfo(file, format as ImageFormat);
    if (!info.ok) return info;
    virtualSize = info.value.virtualSize;
  }
  return ok({ name: path.basename(file), format, size: hashes.size, virtualSize, sha256: hashes.sha256, sha512: hashes.sha512, md5: hashes.md5 });
}
