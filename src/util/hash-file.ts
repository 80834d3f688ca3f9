// Hashes one file in a single streaming pass: size, sha256, sha512 and md5
// (Glance's `checksum` is md5, its `os_hash_value` sha512 by default).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Md5Hex, Sha256Hex, Sha512Hex } from '../manifest/manifest.js';

export interface FileHashes {
  size: number;
  sha256: Sha256Hex;
  sha512: Sha512Hex;
  md5: Md5Hex;
}

export async function hashFile(file: string): Promise<FileHashes> {
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  const md5 = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    sha256.update(chunk);
    sha512.update(chunk);
    md5.update(chunk);
  }
  return { size, sha256: sha256.digest('hex') as Sha256Hex, sha512: sha512.digest('hex') as Sha512Hex, md5: md5.digest('hex') as Md5Hex };
}
