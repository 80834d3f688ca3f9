// Hashes one file in a single read: size, sha256, sha512 and md5 (Glance's
// `checksum` is md5, its `os_hash_value` sha512 by default). A large file's
// three hashes run on three worker threads (see hash-threads.ts).
import { open } from 'node:fs/promises';
import { IN_FLIGHT, sharedBuffer, streamHasher } from './hash-threads.js';

/** Lowercase hex digests, branded so that one is never passed as another. */
export type Sha256Hex = string & { readonly __brand: 'Sha256Hex' };
export type Sha512Hex = string & { readonly __brand: 'Sha512Hex' };
export type Md5Hex = string & { readonly __brand: 'Md5Hex' };

export interface FileHashes {
  size: number;
  sha256: Sha256Hex;
  sha512: Sha512Hex;
  md5: Md5Hex;
}

const CHUNK = 4 * 1024 * 1024;

/** Hashes `file`; aborting `signal` stops it between chunks (throwing the signal's reason). */
export async function hashFile(file: string, signal?: AbortSignal): Promise<FileHashes> {
  const fh = await open(file, 'r');
  const hasher = streamHasher(['sha256', 'sha512', 'md5'], (await fh.stat()).size);
  try {
    // A buffer is refilled only after the workers are done with it: update()
    // leaves fewer than IN_FLIGHT chunks queued, so a ring one longer is safe.
    const ring = hasher.threaded ? Array.from({ length: IN_FLIGHT + 1 }, () => sharedBuffer(CHUNK)) : [Buffer.allocUnsafe(CHUNK)];
    let size = 0;
    for (let i = 0; ; i++) {
      signal?.throwIfAborted();
      const buf = ring[i % ring.length]!;
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      await hasher.update(buf.subarray(0, bytesRead));
    }
    const d = await hasher.digests();
    return { size, sha256: d.sha256 as Sha256Hex, sha512: d.sha512 as Sha512Hex, md5: d.md5 as Md5Hex };
  } catch (e) {
    hasher.abort();
    throw e;
  } finally {
    await fh.close();
  }
}
