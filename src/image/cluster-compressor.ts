// Compresses a disk's 64 KiB clusters for the qcow2 writer (qcow2.ts) on a
// pool of worker threads, and hands the results back in the order the
// batches were given: the bytes written never depend on which thread
// finished first. Clusters an earlier file of the same codec id already
// holds are taken from it instead (see ReuseSource): the same bytes, since
// the codec gives one output per input, without compressing again.
//
//   batch i (n clusters of the raw disk) ──► worker ──► per cluster:
//        zero        (every byte 0: the writer leaves it unallocated)
//        compressed  (the codec's bytes, shorter than a cluster)
//        plain       (did not shrink: written as it is)
//
// The codecs are the ones QEMU reads (block/qcow2-threads.c): zlib is a raw
// deflate stream with a 4 KiB window (windowBits -12) at zlib's default
// level; zstd is one zstd frame at level 3, the library's default. Their
// bytes depend on the library that wrote them, so `codecId` names it (a
// cache-key input: src/engine/disk-output.ts).
//
// Workers are `eval` CommonJS (as util/hash-threads.ts), so the same code
// runs from dist/ and under vitest; zstd-napi is resolved here and its path
// handed over.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import zstdBinding from 'zstd-napi/binding.js';

/** qcow2 cluster codecs (the header's compression_type: 0 zlib, 1 zstd). */
export type ClusterCodec = 'zlib' | 'zstd';

/** What the bytes of a compressed cluster depend on: the codec, its level and window, and the library's version. */
export function codecId(codec: ClusterCodec): string {
  return codec === 'zstd' ? `zstd-${zstdBinding.versionString()}-level3` : `zlib-${process.versions.zlib}-level6-window12`;
}

/** A cluster's fate, in a batch's `kinds`. */
export const ZERO = 0;
export const COMPRESSED = 1;
export const PLAIN = 2;

/** One compressed batch: per cluster its kind and (if compressed) its length; the compressed bytes back to back in `data`. */
export interface CompressedBatch {
  /** The batch's input, handed back (the writer copies plain clusters from it). */
  input: Buffer;
  kinds: Uint8Array;
  lengths: Uint32Array;
  /** Per cluster the sha256 of its raw bytes (zeros for a zero cluster). */
  hashes: Buffer;
  /** How many compressed clusters were taken from the reuse source. */
  reused: number;
  data: Buffer;
}

// One function, run in each worker (and inline for a pool of size 0, which
// tests use to check the threads change nothing). With `reuse`, a cluster
// whose sha256 the earlier file's index lists is taken from that file when
// its bytes there decompress to exactly this cluster; else it is compressed.
const COMPRESS_SOURCE = `
function makeCompressBatch(zstdPath, reuse) {
  const zlib = require('node:zlib');
  const fs = require('node:fs');
  const { createHash } = require('node:crypto');
  const zstd = require(zstdPath);
  const earlier = new Map();
  let fd = null;
  if (reuse) {
    const ix = Buffer.from(reuse.index.buffer, reuse.index.byteOffset, reuse.index.byteLength);
    for (let at = 0; at + 44 <= ix.length; at += 44) {
      earlier.set(ix.toString('hex', at, at + 32), [Number(ix.readBigUInt64BE(at + 32)), ix.readUInt32BE(at + 40)]);
    }
    try { fd = fs.openSync(reuse.file, 'r'); } catch { earlier.clear(); }
  }
  const taken = (codec, c, hash) => {
    const found = earlier.get(hash);
    if (!found || found[1] >= c.length) return null;
    try {
      const bytes = Buffer.alloc(found[1]);
      if (fs.readSync(fd, bytes, 0, bytes.length, found[0]) !== bytes.length) return null;
      const back = codec === 'zstd' ? zstd.decompress(bytes) : zlib.inflateRawSync(bytes);
      return back.equals(c) ? bytes : null;
    } catch {
      return null;
    }
  };
  return (codec, clusterSize, input) => {
    const n = Math.ceil(input.length / clusterSize);
    const kinds = new Uint8Array(n);
    const lengths = new Uint32Array(n);
    const hashes = Buffer.alloc(n * 32);
    const parts = [];
    const zero = Buffer.alloc(clusterSize);
    let reused = 0;
    for (let i = 0; i < n; i++) {
      let c = input.subarray(i * clusterSize, (i + 1) * clusterSize);
      if (c.length < clusterSize) c = Buffer.concat([c, zero.subarray(c.length)]);
      if (c.equals(zero)) continue;
      const hash = createHash('sha256').update(c).digest();
      hash.copy(hashes, i * 32);
      let z = fd === null ? null : taken(codec, c, hash.toString('hex'));
      if (z) reused++;
      else z = codec === 'zstd'
        ? zstd.compress(c, { compressionLevel: 3 })
        : zlib.deflateRawSync(c, { level: 6, windowBits: 12, memLevel: 9 });
      if (z.length >= clusterSize) { kinds[i] = 2; continue; }
      kinds[i] = 1;
      lengths[i] = z.length;
      parts.push(z);
    }
    return { kinds, lengths, hashes, reused, data: Buffer.concat(parts) };
  };
}
`;

const WORKER_SOURCE = `${COMPRESS_SOURCE}
const { parentPort, workerData } = require('node:worker_threads');
const compressBatch = makeCompressBatch(workerData.zstdPath, workerData.reuse);
parentPort.on('message', ({ id, codec, clusterSize, input }) => {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const r = compressBatch(codec, clusterSize, buf);
  const data = new Uint8Array(r.data);
  const hashes = new Uint8Array(r.hashes);
  parentPort.postMessage({ id, input, kinds: r.kinds, lengths: r.lengths, hashes, reused: r.reused, data }, [input.buffer, r.kinds.buffer, r.lengths.buffer, data.buffer, hashes.buffer]);
});
`;

const zstdPath = (): string => createRequire(import.meta.url).resolve('zstd-napi');

type CompressBatch = (codec: ClusterCodec, clusterSize: number, input: Buffer) => Omit<CompressedBatch, 'input'>;

/** The same function the workers run, on this thread. */
function inlineCompressor(reuse: ReuseSource | null): CompressBatch {
  const make = new Function('require', `${COMPRESS_SOURCE}; return makeCompressBatch;`)(createRequire(import.meta.url)) as (p: string, r: ReuseSource | null) => CompressBatch;
  return make(zstdPath(), reuse);
}

/**
 * An earlier file written with the same codec id, and its index: per
 * compressed cluster the sha256 of its raw bytes (32), then where its
 * compressed bytes are (offset, big-endian u64) and how many (u32). Nothing
 * in it is trusted: a cluster is taken only if its bytes decompress to the
 * very cluster being written.
 */
export interface ReuseSource {
  file: string;
  index: Uint8Array;
}

/** Bytes of one index entry: sha256, offset, length. */
export const INDEX_ENTRY = 44;

/** How many threads compress by default: one per CPU, at least one. */
export const defaultThreads = (): number => Math.max(1, availableParallelism());

/**
 * A pool of `threads` compressing workers (0: compress on this thread).
 * `submit` takes batches in disk order; `next` returns them in that order.
 * The caller bounds the memory: it takes a batch whenever `pending` reaches
 * `depth`.
 */
export class ClusterCompressor {
  private readonly workers: Worker[] = [];
  private readonly done = new Map<number, CompressedBatch>();
  private readonly inline: CompressBatch | null;
  private submitted = 0;
  private taken = 0;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  /** Batches worth keeping queued: enough that no thread idles while the caller writes. */
  readonly depth: number;

  constructor(
    private readonly codec: ClusterCodec,
    private readonly clusterSize: number,
    threads: number = defaultThreads(),
    reuse: ReuseSource | null = null,
  ) {
    this.depth = Math.max(2, threads * 2);
    this.inline = threads === 0 ? inlineCompressor(reuse) : null;
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstdPath: zstdPath(), reuse } });
      w.on('message', (m: { id: number; input: Uint8Array; kinds: Uint8Array; lengths: Uint32Array; hashes: Uint8Array; reused: number; data: Uint8Array }) => {
        const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
        this.done.set(m.id, { input: buf(m.input), kinds: m.kinds, lengths: m.lengths, hashes: buf(m.hashes), reused: m.reused, data: buf(m.data) });
        this.poke();
      });
      w.on('error', (e) => this.fault(e));
      w.on('exit', () => this.fault(new Error('a compression thread exited')));
      this.workers.push(w);
    }
  }

  /** Queues the next batch (whole clusters but the last); a buffer of its own is handed over, unusable after. */
  submit(input: Buffer): void {
    if (this.failure) throw new Error(`qcow2 cluster compression failed: ${this.failure.message}`);
    const id = this.submitted++;
    if (this.inline) {
      this.done.set(id, { input, ...this.inline(this.codec, this.clusterSize, input) });
      return;
    }
    // The worker takes the bytes over; a view into a larger buffer is copied first.
    const whole = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength && input.buffer instanceof ArrayBuffer;
    const own = whole ? new Uint8Array(input.buffer) : new Uint8Array(input);
    this.workers[id % this.workers.length]!.postMessage({ id, codec: this.codec, clusterSize: this.clusterSize, input: own }, [own.buffer]);
  }

  /** The oldest batch not yet taken, once it is compressed. */
  async next(): Promise<CompressedBatch> {
    if (this.taken >= this.submitted) throw new Error('no batch submitted');
    const id = this.taken;
    await this.until(() => this.done.has(id));
    const batch = this.done.get(id)!;
    this.done.delete(id);
    this.taken++;
    return batch;
  }

  /** Batches submitted and not yet taken. */
  get pending(): number {
    return this.submitted - this.taken;
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    for (const w of ws) w.removeAllListeners('exit');
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private fault(e: Error): void {
    this.failure ??= e;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.failure) throw new Error(`qcow2 cluster compression failed: ${this.failure.message}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
