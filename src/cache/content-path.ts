// Where a blob lives, from its integrity, and the reverse walk over every
// blob in the store (for verify and gc):
//
//   <cache>/content-v2/sha256/ab/cd/<rest of the 64 hex digits>
//                      ^algo  ^hex[0:2] ^hex[2:4] ^hex[4:]
import { stat } from 'node:fs/promises';
import path from 'node:path';
import ssri from 'ssri';
import type { Integrity } from './digest.js';
import { CONTENT_ALGORITHM, CONTENT_DIR, CONTENT_HEX_LENGTH } from './format.js';
import { readdirSorted } from '../util/readdir-sorted.js';

/** The hex digest of the content algorithm's hash in `integrity`; throws if it has none. */
export function integrityHex(integrity: Integrity): string {
  const hash = ssri.parse(integrity)[CONTENT_ALGORITHM]?.[0];
  const hex = hash ? Buffer.from(hash.digest, 'base64').toString('hex') : '';
  if (hex.length !== CONTENT_HEX_LENGTH) throw new TypeError(`integrity has no ${CONTENT_ALGORITHM} hash: ${integrity}`);
  return hex;
}

/** Integrity (content algorithm only) from a hex digest. */
export function integrityFromHex(hex: string): Integrity {
  return ssri.fromHex(hex, CONTENT_ALGORITHM).toString() as Integrity;
}

/** Checks that a string is an integrity the store can address; returns it branded. */
export function parseIntegrity(value: string): Integrity | null {
  try {
    integrityHex(value as Integrity);
    return ssri.parse(value).toString() as Integrity;
  } catch {
    return null;
  }
}

export function contentRoot(cache: string): string {
  return path.join(cache, CONTENT_DIR, CONTENT_ALGORITHM);
}

/** Absolute path of the blob addressed by `integrity`. */
export function blobPath(cache: string, integrity: Integrity): string {
  const hex = integrityHex(integrity);
  return path.join(contentRoot(cache), hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

export interface BlobFile {
  integrity: Integrity;
  path: string;
  size: number;
  mtimeMs: number;
}

/** Every blob file in the store (names that are not digests are skipped). */
export async function* listBlobs(cache: string): AsyncGenerator<BlobFile> {
  const root = contentRoot(cache);
  for (const a of await readdirSorted(root)) {
    for (const b of await readdirSorted(path.join(root, a))) {
      for (const rest of await readdirSorted(path.join(root, a, b))) {
        const hex = `${a}${b}${rest}`;
        if (hex.length !== CONTENT_HEX_LENGTH || !/^[0-9a-f]+$/.test(hex)) continue;
        const file = path.join(root, a, b, rest);
        try {
          const st = await stat(file);
          if (st.isFile()) yield { integrity: integrityFromHex(hex), path: file, size: st.size, mtimeMs: st.mtimeMs };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }
  }
}
