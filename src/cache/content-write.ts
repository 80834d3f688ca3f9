// Writing a blob: into a temp file opened exclusively, hashed while written
// (sha256: the integrity that addresses it here is the digest registries
// address it by), fsynced, then renamed into place. A file whose
// writer already hashed it (HashedFile) is copied in the kernel instead, or
// moved in when its writer gives it up. A
// reader never sees half a blob, and two writers of the same content both
// succeed: the second rename replaces identical bytes.
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { blobPath, integrityFromHex, integrityHex } from './content-path.js';
import { IntegrityError } from './integrity-error.js';
import { fileDigestFromHex, type FileDigest, type Integrity } from './digest.js';
import { CONTENT_ALGORITHM, TMP_DIR } from './format.js';

export type BlobSource = Buffer | Uint8Array | AsyncIterable<Uint8Array | string> | HashedFile;

/**
 * A file whose hashes the caller computed while it wrote the file (an output
 * just hashed for its manifest, a layer hashed while packed): stored by an
 * in-kernel copy instead of being read and hashed again.
 */
export interface HashedFile {
  path: string;
  size: number;
  /** Hex sha256 of the file (CONTENT_ALGORITHM). */
  sha256: string;
  /** The caller gives the file up (a spooled layer): it is moved in rather than copied when on the same filesystem. */
  owned?: boolean;
}

const isHashedFile = (s: BlobSource): s is HashedFile => typeof (s as HashedFile).path === 'string' && typeof (s as HashedFile).sha256 === 'string';

export interface WrittenBlob {
  integrity: Integrity;
  size: number;
  /** sha256 of the same bytes, as an OCI registry addresses them. */
  digest: FileDigest;
}

export interface WriteBlobOptions {
  /** If given, the bytes must hash to this, else IntegrityError and nothing is stored. */
  expected?: Integrity;
}

/** Stores `source` in the content store of `cache` and says where it went. */
export async function writeBlob(cache: string, source: BlobSource, opts: WriteBlobOptions = {}): Promise<WrittenBlob> {
  if (isHashedFile(source)) return writeHashedFile(cache, source, opts);
  const tmp = await tempPath(cache);
  const hash = createHash(CONTENT_ALGORITHM);
  let size = 0;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    try {
      for await (const chunk of chunks(source)) {
        hash.update(chunk);
        size += chunk.length;
        await writeAll(fh, chunk);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const hex = hash.digest('hex');
    const integrity = integrityFromHex(hex);
    if (opts.expected !== undefined && integrityHex(opts.expected) !== hex) {
      throw new IntegrityError('blob being written', opts.expected, integrity);
    }
    const dest = blobPath(cache, integrity);
    await mkdir(path.dirname(dest), { recursive: true });
    await rename(tmp, dest);
    await syncDir(path.dirname(dest));
    return { integrity, size, digest: fileDigestFromHex(hex) };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function writeHashedFile(cache: string, source: HashedFile, opts: WriteBlobOptions): Promise<WrittenBlob> {
  const integrity = integrityFromHex(source.sha256);
  if (opts.expected !== undefined && integrityHex(opts.expected) !== source.sha256) {
    throw new IntegrityError('blob being written', opts.expected, integrity);
  }
  const tmp = await tempPath(cache);
  try {
    if (!(source.owned && (await moved(source.path, tmp)))) await copyFile(source.path, tmp, constants.COPYFILE_EXCL);
    const fh = await open(tmp, 'r+');
    try {
      if ((await fh.stat()).size !== source.size) throw new Error(`${source.path} changed while it was stored`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const dest = blobPath(cache, integrity);
    await mkdir(path.dirname(dest), { recursive: true });
    await rename(tmp, dest);
    await syncDir(path.dirname(dest));
    return { integrity, size: source.size, digest: fileDigestFromHex(source.sha256) };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Renames `from` to `to`; false when they are on different filesystems. */
async function moved(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EXDEV') return false;
    throw e;
  }
}

/** A fresh, unique temp file name in `<cache>/tmp` (same filesystem as the content). */
export async function tempPath(cache: string): Promise<string> {
  const dir = path.join(cache, TMP_DIR);
  await mkdir(dir, { recursive: true });
  return path.join(dir, `${process.pid}-${randomBytes(8).toString('hex')}`);
}

async function* chunks(source: BlobSource): AsyncGenerator<Buffer> {
  if (source instanceof Uint8Array) {
    yield Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return;
  }
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) yield typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
}

async function writeAll(fh: import('node:fs/promises').FileHandle, chunk: Buffer): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
