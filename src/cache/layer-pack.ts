// Packs a layer source directory into a zstd-compressed OCI layer blob and
// reports its identities: diffId (sha256 of the tar, what an OCI image config
// lists) and digest (sha256 of the compressed blob, its content address).
//
//   walkLayer ─► tarStream ─► [sha256 → diffId] ─► zstd ─► [sha256 → digest] ─► out
//
// The digest is also the blob's integrity in the store (format.ts): taken
// here, the store copies the spooled blob instead of reading it again.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressStream } from 'zstd-napi';
import { fail, ok, type Result } from '../failure.js';
import { fileDigestFromHex, type FileDigest } from './digest.js';
import { walkLayer, type WalkOptions, type WalkResult } from './layer-walk.js';
import { tarStream, type TarWriterOptions } from './tar-writer.js';

export interface PackOptions extends TarWriterOptions, Partial<WalkOptions> {
  /**
   * zstd level. Default 1: in bench/layer-pack.mjs on the 2-core build host it
   * packed fastest (level 3 is ~15% smaller but ~30% slower to pack). Part of
   * a blob's identity: changing it changes every digest (not the diffId).
   */
  level?: number;
  /** zstd worker threads (0 = compress on the main thread). Default 2. */
  workers?: number;
}

export interface PackResult {
  diffId: FileDigest;
  digest: FileDigest;
  /** Compressed bytes written. */
  size: number;
  uncompressedSize: number;
  /** Archive members (whiteouts and opaque markers included). */
  entries: number;
  /** Sockets found in the source and left out. */
  skipped: string[];
}

/** Packs `sourceDir` (source defaults to 'upper') into `out` (a stream, or a file path to create). */
export async function packLayer(sourceDir: string, out: Writable | string, opts: PackOptions = {}): Promise<Result<PackResult>> {
  const walked = await walkLayer(sourceDir, { source: opts.source ?? 'upper' });
  if (!walked.ok) return walked;
  return packWalked(walked.value, sourceDir, out, opts);
}

/**
 * Packs what walkLayer found in `sourceDir` into `out`; `onTar` sees each chunk of the uncompressed tar;
 * aborting `signal` stops it half-way (an `io` failure, `out` incomplete).
 */
export async function packWalked(
  walked: WalkResult,
  sourceDir: string,
  out: Writable | string,
  opts: TarWriterOptions & Pick<PackOptions, 'level' | 'workers'> & { onTar?: (chunk: Buffer) => void; signal?: AbortSignal } = {},
): Promise<Result<PackResult>> {
  const { entries, skipped } = walked;

  const tarHash = counter(opts.onTar);
  const blobHash = counter();
  const sink = typeof out === 'string' ? createWriteStream(out, { flags: 'wx' }) : out;
  try {
    await pipeline(
      tarStream(entries, opts),
      tarHash.stream,
      new CompressStream({ compressionLevel: opts.level ?? 1, nbWorkers: opts.workers ?? 2, checksumFlag: true }),
      blobHash.stream,
      sink,
      opts.signal ? { signal: opts.signal } : {},
    );
  } catch (err) {
    return fail({ reason: 'io', what: `packing layer ${sourceDir}`, message: (err as Error).message });
  }
  return ok({
    diffId: tarHash.digest(),
    digest: blobHash.digest(),
    size: blobHash.bytes(),
    uncompressedSize: tarHash.bytes(),
    entries: entries.length,
    skipped,
  });
}

/** A pass-through that takes the sha256 of what flows through it and counts it (and shows each chunk to `onChunk`). */
function counter(onChunk?: (chunk: Buffer) => void): { stream: Transform; digest: () => FileDigest; bytes: () => number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      onChunk?.(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, digest: () => fileDigestFromHex(hash.digest('hex')), bytes: () => bytes };
}
