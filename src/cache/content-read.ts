// Reading blobs, always checked against their integrity. `readBlob` streams
// and checks as it goes: the stream errors with EINTEGRITY at its end if the
// bytes were wrong, so a consumer must treat everything it got as void then
// (extract into a scratch dir, keep it only on a clean end). `verifyBlob`
// checks a whole blob up front for callers that need a file path (GNU tar);
// `readSmallBlob` reads and checks a small one whole (an entry descriptor).
// A damaged blob is removed as soon as it is detected.
import { createHash } from 'node:crypto';
import { createReadStream, fstat } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { fail, ok, type Result } from '../failure.js';
import { blobPath, integrityFromHex, integrityHex } from './content-path.js';
import { removeIfSameFile } from './content-rm.js';
import type { Integrity } from './digest.js';
import { CONTENT_ALGORITHM } from './format.js';
import { IntegrityError } from './integrity-error.js';

/**
 * A stream of the blob's bytes that errors with IntegrityError (code
 * EINTEGRITY, expected, found) if they do not match `integrity`, and with
 * ENOENT if there is no such blob.
 */
export function readBlob(cache: string, integrity: Integrity): Readable {
  const file = blobPath(cache, integrity);
  const expectedHex = integrityHex(integrity);
  const hash = createHash(CONTENT_ALGORITHM);
  const source = createReadStream(file);
  // Which file was read, so that only that one is removed if it is damaged.
  const identity = new Promise<{ dev: number; ino: number } | null>((resolve) => {
    source.on('open', (fd: number) => fstat(fd, (err, st) => resolve(err ? null : st)));
    source.on('error', () => resolve(null));
  });
  const check = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      const foundHex = hash.digest('hex');
      if (foundHex === expectedHex) return done();
      const err = new IntegrityError(`blob ${file}`, integrity, integrityFromHex(foundHex));
      identity
        .then((id) => (id ? removeIfSameFile(file, id.dev, id.ino) : false))
        .then(
          () => done(err),
          () => done(err),
        );
    },
  });
  source.on('error', (err) => check.destroy(err));
  check.on('close', () => source.destroy());
  return source.pipe(check);
}

export interface VerifiedBlob {
  path: string;
  size: number;
}

/**
 * Re-hashes the whole blob. ok with its path if it matches; a failure with
 * reason 'integrity' if it did not (the blob is then removed), or 'io' if it
 * is missing.
 */
export async function verifyBlob(cache: string, integrity: Integrity): Promise<Result<VerifiedBlob>> {
  const file = blobPath(cache, integrity);
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return fail({ reason: 'io', what: `blob ${integrity}`, message: 'not in the cache' });
    }
    throw err;
  }
  try {
    const st = await fh.stat();
    const hash = createHash(CONTENT_ALGORITHM);
    for await (const chunk of fh.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    const foundHex = hash.digest('hex');
    if (foundHex === integrityHex(integrity)) return ok({ path: file, size: st.size });
    await removeIfSameFile(file, st.dev, st.ino);
    return fail({ reason: 'integrity', what: `blob ${file}`, expected: integrity, found: integrityFromHex(foundHex) });
  } finally {
    await fh.close();
  }
}

/**
 * The whole blob, checked: a failure with reason 'io' if it is missing or
 * larger than `maxBytes` (then it is left alone: it is some other blob), or
 * 'integrity' if its bytes do not match (it is removed).
 */
export async function readSmallBlob(cache: string, integrity: Integrity, maxBytes: number): Promise<Result<Buffer>> {
  const file = blobPath(cache, integrity);
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fail({ reason: 'io', what: file, message: 'is gone from the cache' });
    throw err;
  }
  try {
    const st = await fh.stat();
    if (st.size > maxBytes) return fail({ reason: 'io', what: file, message: `is ${st.size} bytes, too large for what it should be` });
    const bytes = await fh.readFile();
    const foundHex = createHash(CONTENT_ALGORITHM).update(bytes).digest('hex');
    if (foundHex === integrityHex(integrity)) return ok(bytes);
    await removeIfSameFile(file, st.dev, st.ino);
    return fail({ reason: 'integrity', what: `blob ${file}`, expected: integrity, found: integrityFromHex(foundHex) });
  } finally {
    await fh.close();
  }
}
