// The qcow2 file format, written by imgfactory itself from a raw disk: the
// clusters are compressed on a pool of threads (cluster-compressor.ts) and
// written in disk order, so equal raw disks give equal files whatever the
// scheduling. Replaces `qemu-img convert -c`, which compresses on one thread.
//
// The file (version 3, compat 1.1, 64 KiB clusters, 16-bit refcounts):
//
//   cluster 0        header (104 bytes; 112 with compression_type for zstd)
//   data             the disk's non-zero clusters in disk order: compressed
//                    ones packed back to back at byte offsets, plain ones
//                    (those that did not shrink) on cluster boundaries
//   L2 tables        one per 512 MiB of disk holding any data
//   L1 table         every L2 table's offset
//   refcount blocks  one 16-bit count per cluster of the file
//   refcount table   every refcount block's offset
//
// Beside the file the writer can leave an index of its compressed clusters
// (`indexOut`: a text line naming the codec id, then per cluster its raw
// sha256, offset and length); a later write given that file and index
// (`reuse`) takes the clusters that did not change from it instead of
// compressing them again — same bytes, since the codec id pins the codec's
// output, and each taken cluster is first decompressed and compared.
//
// Zero clusters are left unallocated (they read as zeros, as qemu-img
// convert leaves them). Invariants `qemu-img check` verifies: every cluster
// of the file is counted once per reference (a data cluster once for each
// compressed cluster whose sectors touch it), nothing is leaked, and the
// COPIED flag is set exactly where the count is 1 (L1 entries and plain
// data clusters; never compressed ones).
import { open, readFile, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { ClusterCompressor, COMPRESSED, INDEX_ENTRY, PLAIN, codecId, defaultThreads, type ClusterCodec, type CompressedBatch, type ReuseSource } from './cluster-compressor.js';

export const CLUSTER_BITS = 16;
export const CLUSTER_SIZE = 1 << CLUSTER_BITS;
const L2_ENTRIES = CLUSTER_SIZE / 8;
const REFCOUNTS_PER_BLOCK = CLUSTER_SIZE / 2;
const SECTOR = 512;
/** Clusters read and compressed as one batch (2 MiB). */
const BATCH_CLUSTERS = 32;

const COPIED = 1n << 63n;
const COMPRESSED_FLAG = 1n << 62n;
/** Where a compressed L2 entry's sector count starts: 62 - (cluster_bits - 8). */
const CSIZE_SHIFT = BigInt(62 - (CLUSTER_BITS - 8));
/** The incompatible feature bit saying the header holds compression_type. */
const INCOMPAT_COMPRESSION_TYPE = 1n << 3n;

export interface Qcow2Options {
  raw: string;
  out: string;
  codec: ClusterCodec;
  /** Compressing threads (0: on the calling thread); default one per CPU. */
  threads?: number;
  /** An earlier qcow2 and its index: clusters it holds are taken from it (an index of another codec id is ignored). */
  reuse?: { qcow2: string; index: string };
  /** Where to write this file's index (for a later `reuse`). */
  indexOut?: string;
}

/** What a write did: clusters stored compressed, and how many of those came from `reuse`. */
export interface Qcow2Written {
  compressed: number;
  reused: number;
}

const INDEX_MAGIC = 'imgfactory-qcow2-index v1';

/** The index file: its first line names the format and the codec id, then the entries. */
async function readIndex(file: string, codec: ClusterCodec): Promise<Uint8Array | null> {
  const bytes = await readFile(file).catch(() => null);
  if (!bytes) return null;
  const head = `${INDEX_MAGIC} ${codecId(codec)}\n`;
  if (bytes.subarray(0, head.length).toString('latin1') !== head) return null;
  return bytes.subarray(head.length);
}

/** Where each cluster of the disk went: 0 unallocated, else its L2 entry. */
type L2Entries = BigUint64Array;

/** Writes `raw` as a compressed qcow2 at `out` (created or truncated). */
export async function writeQcow2(o: Qcow2Options): Promise<Qcow2Written> {
  const size = (await stat(o.raw)).size;
  const clusters = Math.ceil(size / CLUSTER_SIZE);
  const entries: L2Entries = new BigUint64Array(clusters);
  const refcounts = new Refcounts();
  refcounts.add(0); // the header
  const index = o.reuse ? await readIndex(o.reuse.index, o.codec) : null;
  const reuse: ReuseSource | null = o.reuse && index ? { file: o.reuse.qcow2, index } : null;
  const input = await open(o.raw, 'r');
  const output = await open(o.out, 'w');
  const pool = new ClusterCompressor(o.codec, CLUSTER_SIZE, o.threads ?? defaultThreads(), reuse);
  try {
    const data = new DataArea(output, CLUSTER_SIZE, refcounts);
    let cluster = 0;
    const place = async (batch: CompressedBatch): Promise<void> => {
      await data.place(batch, cluster, entries);
      cluster += batch.kinds.length;
    };
    for (let at = 0; at < size; at += BATCH_CLUSTERS * CLUSTER_SIZE) {
      const length = Math.min(BATCH_CLUSTERS * CLUSTER_SIZE, size - at);
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await input.read(buf, 0, length, at);
      if (bytesRead !== length) throw new Error(`${o.raw}: short read at ${at}`);
      pool.submit(buf);
      while (pool.pending >= pool.depth) await place(await pool.next());
    }
    while (pool.pending > 0) await place(await pool.next());
    await writeMetadata(output, await data.end(), size, o.codec, entries, refcounts);
    if (o.indexOut) await writeFile(o.indexOut, Buffer.concat([Buffer.from(`${INDEX_MAGIC} ${codecId(o.codec)}\n`, 'latin1'), ...data.index]));
    return { compressed: data.index.length, reused: data.reused };
  } finally {
    await pool.close();
    await input.close();
    await output.close();
  }
}

/** The data area: compressed clusters packed from byte `at`, plain ones on cluster boundaries. */
class DataArea {
  private at: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushedTo: number;
  /** Index entries of the compressed clusters written (sha256, offset, length). */
  readonly index: Buffer[] = [];
  reused = 0;

  constructor(
    private readonly file: FileHandle,
    start: number,
    private readonly refcounts: Refcounts,
  ) {
    this.at = start;
    this.flushedTo = start;
  }

  async place(batch: CompressedBatch, first: number, entries: L2Entries): Promise<void> {
    this.reused += batch.reused;
    let from = 0;
    for (let i = 0; i < batch.kinds.length; i++) {
      const kind = batch.kinds[i];
      if (kind === COMPRESSED) {
        const length = batch.lengths[i]!;
        const entry = Buffer.alloc(INDEX_ENTRY);
        batch.hashes.copy(entry, 0, i * 32, i * 32 + 32);
        entry.writeBigUInt64BE(BigInt(this.at), 32);
        entry.writeUInt32BE(length, 40);
        this.index.push(entry);
        entries[first + i] = this.compressed(batch.data.subarray(from, from + length));
        from += length;
      } else if (kind === PLAIN) {
        entries[first + i] = this.plain(batch.input.subarray(i * CLUSTER_SIZE, (i + 1) * CLUSTER_SIZE));
      }
    }
    if (this.pendingBytes >= 8 << 20) await this.flush();
  }

  /** Appends compressed bytes; its L2 entry (offset, sectors spanned - 1, compressed flag). */
  private compressed(bytes: Buffer): bigint {
    const offset = this.at;
    const firstSector = Math.floor(offset / SECTOR);
    const lastSector = Math.floor((offset + bytes.length - 1) / SECTOR);
    // Counted as QEMU counts it: every cluster the sectors touch.
    const end = (lastSector + 1) * SECTOR;
    for (let c = Math.floor(offset / CLUSTER_SIZE); c <= Math.floor((end - 1) / CLUSTER_SIZE); c++) this.refcounts.add(c);
    this.append(bytes);
    return COMPRESSED_FLAG | (BigInt(lastSector - firstSector) << CSIZE_SHIFT) | BigInt(offset);
  }

  /** Appends a whole cluster at the next cluster boundary; its L2 entry. */
  private plain(bytes: Buffer): bigint {
    this.align();
    const offset = this.at;
    this.refcounts.add(offset / CLUSTER_SIZE);
    this.append(bytes.length === CLUSTER_SIZE ? bytes : Buffer.concat([bytes, Buffer.alloc(CLUSTER_SIZE - bytes.length)]));
    return COPIED | BigInt(offset);
  }

  private align(): void {
    const pad = (CLUSTER_SIZE - (this.at % CLUSTER_SIZE)) % CLUSTER_SIZE;
    if (pad > 0) this.append(Buffer.alloc(pad));
  }

  private append(bytes: Buffer): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.at += bytes.length;
  }

  private async flush(): Promise<void> {
    const buf = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.file.write(buf, 0, buf.length, this.flushedTo);
    this.flushedTo += buf.length;
  }

  /** Pads to a cluster boundary, writes what is left; the first free cluster's offset. */
  async end(): Promise<number> {
    this.align();
    await this.flush();
    return this.at;
  }
}

/** Reference counts per cluster of the file. */
class Refcounts {
  private counts = new Uint16Array(1024);
  private top = 0;

  add(cluster: number): void {
    if (cluster >= this.counts.length) {
      const grown = new Uint16Array(Math.max(cluster + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    if (this.counts[cluster] === 0xffff) throw new Error(`qcow2: refcount of cluster ${cluster} overflows 16 bits`);
    this.counts[cluster]!++;
    this.top = Math.max(this.top, cluster + 1);
  }

  /** The counts of clusters [first, first + n) as big-endian 16-bit words. */
  block(first: number, n: number): Buffer {
    const b = Buffer.alloc(n * 2);
    for (let i = 0; i < n && first + i < this.top; i++) b.writeUInt16BE(this.counts[first + i]!, i * 2);
    return b;
  }
}

/** L2 tables, the L1 table, refcount blocks and table after the data (at `start`), then the header. */
async function writeMetadata(file: FileHandle, start: number, size: number, codec: ClusterCodec, entries: L2Entries, refcounts: Refcounts): Promise<void> {
  const l1Size = Math.ceil(entries.length / L2_ENTRIES);
  const used = (t: number): boolean => entries.subarray(t * L2_ENTRIES, (t + 1) * L2_ENTRIES).some((e) => e !== 0n);
  const tables = Array.from({ length: l1Size }, (_, t) => t).filter(used);
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / CLUSTER_SIZE));
  let next = start / CLUSTER_SIZE;

  const l1 = Buffer.alloc(l1Clusters * CLUSTER_SIZE);
  for (const t of tables) {
    const l2 = Buffer.alloc(CLUSTER_SIZE);
    entries.subarray(t * L2_ENTRIES, (t + 1) * L2_ENTRIES).forEach((e, i) => l2.writeBigUInt64BE(e, i * 8));
    refcounts.add(next);
    l1.writeBigUInt64BE(COPIED | BigInt(next * CLUSTER_SIZE), t * 8);
    await file.write(l2, 0, CLUSTER_SIZE, next * CLUSTER_SIZE);
    next++;
  }
  const l1Offset = next * CLUSTER_SIZE;
  for (let i = 0; i < l1Clusters; i++) refcounts.add(next++);
  await file.write(l1, 0, l1.length, l1Offset);

  // The refcount blocks and table count themselves: grow until they cover the whole file.
  let blocks = 0;
  let tableClusters = 0;
  for (;;) {
    const total = next + blocks + tableClusters;
    const needBlocks = Math.ceil(total / REFCOUNTS_PER_BLOCK);
    const needTable = Math.max(1, Math.ceil((needBlocks * 8) / CLUSTER_SIZE));
    if (needBlocks === blocks && needTable === tableClusters) break;
    blocks = needBlocks;
    tableClusters = needTable;
  }
  const firstBlock = next;
  for (let i = 0; i < blocks + tableClusters; i++) refcounts.add(next++);
  const table = Buffer.alloc(tableClusters * CLUSTER_SIZE);
  for (let b = 0; b < blocks; b++) {
    const at = (firstBlock + b) * CLUSTER_SIZE;
    table.writeBigUInt64BE(BigInt(at), b * 8);
    await file.write(refcounts.block(b * REFCOUNTS_PER_BLOCK, REFCOUNTS_PER_BLOCK), 0, CLUSTER_SIZE, at);
  }
  const tableOffset = (firstBlock + blocks) * CLUSTER_SIZE;
  await file.write(table, 0, table.length, tableOffset);
  await file.write(header({ size, codec, l1Size, l1Offset, tableOffset, tableClusters }), 0, undefined, 0);
}

/** The version 3 header. */
export function header(h: { size: number; codec: ClusterCodec; l1Size: number; l1Offset: number; tableOffset: number; tableClusters: number }): Buffer {
  const zstd = h.codec === 'zstd';
  const length = zstd ? 112 : 104;
  // The header, then an empty extension (type 0: the end of the extensions).
  const b = Buffer.alloc(length + 8);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(3, 4); // version
  b.writeUInt32BE(CLUSTER_BITS, 20);
  b.writeBigUInt64BE(BigInt(h.size), 24);
  b.writeUInt32BE(h.l1Size, 36);
  b.writeBigUInt64BE(BigInt(h.l1Offset), 40);
  b.writeBigUInt64BE(BigInt(h.tableOffset), 48);
  b.writeUInt32BE(h.tableClusters, 56);
  b.writeBigUInt64BE(zstd ? INCOMPAT_COMPRESSION_TYPE : 0n, 72); // incompatible features
  b.writeUInt32BE(4, 96); // refcount_order: 16-bit counts
  b.writeUInt32BE(length, 100);
  if (zstd) b.writeUInt8(1, 104); // compression_type
  return b;
}
