// The local LayerStore: a cacache-style directory on this machine, shared by
// every build (and process) pointed at it. It glues the content store
// (content-*.ts), the index (index-*.ts) and the key locks (lock.ts)
// together, and adds what only a local store has: a verified file path for
// tools that read files (GNU tar), gc and verify.
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fail, ok, type Result } from '../failure.js';
import { removeCheckpoint } from './checkpoints.js';
import { blobPath } from './content-path.js';
import { readBlob, verifyBlob } from './content-read.js';
import { writeBlob, type BlobSource } from './content-write.js';
import { isFileDigest, type LayerKey } from './digest.js';
import { gc, type GcOptions, type GcReport } from './gc.js';
import { get, ls, put, rm, type IndexEntry } from './index-entries.js';
import { withKeyLock, type LockOptions } from './lock.js';
import type { LayerEntry, LayerMetadata, LayerMetadataInput, LayerStore } from './store.js';
import { verify, type VerifyReport } from './verify.js';

export class LocalLayerStore implements LayerStore {
  readonly kind = 'local';
  /** Told, once per damage found, when a lookup misses because the cache was damaged (a missing blob, damaged index lines). */
  onDamage?: (message: string) => void;
  private readonly reported = new Set<string>();

  constructor(
    /** The cache directory (root of content-v2/, index-v2/, tmp/, locks/). */
    readonly dir: string,
    private readonly lockOptions: LockOptions = {},
  ) {}

  async lookup(key: LayerKey): Promise<LayerEntry | null> {
    let damagedBucket: string | null = null;
    const entry = toLayerEntry(await get(this.dir, key, { onBadLines: (count, bucket) => (damagedBucket = `${bucket} (${count} damaged ${count === 1 ? 'line' : 'lines'})`) }));
    if (!entry) {
      if (damagedBucket) this.damage(damagedBucket, `damaged lines skipped in the cache index ${damagedBucket}; an entry among them is built again`);
      return null;
    }
    // An entry whose blob was removed (gc, verify, a damaged read) is a miss.
    const blob = blobPath(this.dir, entry.integrity);
    try {
      await stat(blob);
      return entry;
    } catch {
      this.damage(blob, `the blob of ${entry.metadata.step ?? key} is gone from the cache (${blob}); building it again`);
      return null;
    }
  }

  private damage(what: string, message: string): void {
    if (this.reported.has(what)) return;
    this.reported.add(what);
    this.onDamage?.(message);
  }

  async openLayer(entry: LayerEntry): Promise<Readable> {
    return readBlob(this.dir, entry.integrity);
  }

  /** A verified path of the entry's blob (for tools that want a file); a damaged blob is removed. */
  async layerFile(entry: LayerEntry): Promise<Result<string>> {
    const checked = await verifyBlob(this.dir, entry.integrity);
    return checked.ok ? ok(checked.value.path) : fail(checked.error);
  }

  async putLayer(key: LayerKey, blob: BlobSource, metadata: LayerMetadataInput): Promise<LayerEntry> {
    const written = await writeBlob(this.dir, blob);
    const full: LayerMetadata = { ...metadata, digest: written.digest };
    const entry = toLayerEntry(await put(this.dir, key, { integrity: written.integrity, size: written.size, metadata: full }));
    if (!entry) throw new Error(`index entry for ${key} did not read back`);
    return entry;
  }

  /** Forgets the entry, and the tree checkpoint at that key with it. */
  async remove(key: LayerKey): Promise<void> {
    await rm(this.dir, key);
    await removeCheckpoint(this.dir, key);
  }

  async list(): Promise<LayerEntry[]> {
    const { entries } = await ls(this.dir);
    return entries.map(toLayerEntry).filter((e): e is LayerEntry => e !== null);
  }

  withKeyLock<T>(key: LayerKey, fn: () => Promise<T>): Promise<T> {
    return withKeyLock(this.dir, key, fn, this.lockOptions);
  }

  gc(opts: GcOptions): Promise<GcReport> {
    return gc(this.dir, { staleMs: this.lockOptions.staleMs, ...opts });
  }

  verify(): Promise<VerifyReport> {
    return verify(this.dir);
  }
}

/** An index entry as a layer entry; null if it is not one (no blob sha256 recorded). */
function toLayerEntry(entry: IndexEntry | null): LayerEntry | null {
  if (!entry) return null;
  const digest = entry.metadata.digest;
  if (typeof digest !== 'string' || !isFileDigest(digest)) return null;
  return { ...entry, key: entry.key as LayerKey, metadata: { ...entry.metadata, digest } };
}
