// The local LayerStore: a cacache-style directory on this machine, shared by
// every build (and process) pointed at it. It glues the content store
// (content-*.ts), the index (index-*.ts), the entry descriptors
// (entry-descriptor.ts) and the key locks (lock.ts) together, and adds what
// only a local store has: a verified file path for tools that read files
// (GNU tar), gc and verify.
//
// A put writes the blob, then its descriptor (key, kind, digest, size, media
// type, metadata), then the index line naming both. A lookup reads the line,
// then the descriptor (bound-entry.ts): an entry that is not bound to the key
// and kind looked up is damage, reported and built again, never used.
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fail, ok, type Result } from '../failure.js';
import { removeCheckpoint } from './checkpoints.js';
import { blobPath } from './content-path.js';
import { readBlob, verifyBlob } from './content-read.js';
import { writeBlob, type BlobSource } from './content-write.js';
import { entryOf, readBoundEntry } from './bound-entry.js';
import type { LayerKey } from './digest.js';
import { DEFAULT_BLOB_MEDIA_TYPE, describeEntry, encodeDescriptor, type EntryKind, type WantedKind } from './entry-descriptor.js';
import { gc, type GcOptions, type GcReport } from './gc.js';
import { get, ls, put, rm } from './index-entries.js';
import { withKeyLock, type LockOptions } from './lock.js';
import type { LayerEntry, LayerMetadataInput, LayerStore } from './store.js';
import { verify, type VerifyReport } from './verify.js';

export class LocalLayerStore implements LayerStore {
  readonly kind = 'local';
  /** Told, once per damage found, when a lookup misses because the cache was damaged (a missing blob, damaged index lines, an entry not bound to its key and kind). */
  onDamage?: (message: string) => void;
  private readonly reported = new Set<string>();

  constructor(
    /** The cache directory (root of content-v2/, index-v3/, tmp/, locks/, trees-v2/). */
    readonly dir: string,
    private readonly lockOptions: LockOptions = {},
  ) {}

  async lookup(key: LayerKey, kind: WantedKind): Promise<LayerEntry | null> {
    let damagedBucket: string | null = null;
    const line = await get(this.dir, key, { onBadLines: (count, bucket) => (damagedBucket = `${bucket} (${count} damaged ${count === 1 ? 'line' : 'lines'})`) });
    if (!line) {
      if (damagedBucket) this.damage(damagedBucket, `damaged lines skipped in the cache index ${damagedBucket}; an entry among them is built again`);
      return null;
    }
    const entry = await readBoundEntry(this.dir, line, kind);
    if (typeof entry === 'string') {
      this.damage(`${key} ${line.descriptor}`, `the cache entry of ${key}${kind === 'any' ? '' : ` (${kind})`} ${entry}; not used, building it again`);
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

  async putLayer(key: LayerKey, kind: EntryKind, blob: BlobSource, metadata: LayerMetadataInput): Promise<LayerEntry> {
    const written = await writeBlob(this.dir, blob);
    const { mediaType, ...rest } = metadata;
    const descriptor = describeEntry({ key, kind, digest: written.digest, size: written.size, mediaType: typeof mediaType === 'string' ? mediaType : DEFAULT_BLOB_MEDIA_TYPE, metadata: rest });
    const bound = await writeBlob(this.dir, encodeDescriptor(descriptor));
    return entryOf(descriptor, await put(this.dir, key, { integrity: written.integrity, descriptor: bound.integrity, size: written.size }));
  }

  /** Forgets the entry, and the tree checkpoint at that key with it. */
  async remove(key: LayerKey): Promise<void> {
    await rm(this.dir, key);
    await removeCheckpoint(this.dir, key);
  }

  async list(): Promise<LayerEntry[]> {
    const listed: LayerEntry[] = [];
    for (const line of (await ls(this.dir)).entries) {
      const entry = await readBoundEntry(this.dir, line, 'any');
      if (typeof entry !== 'string') listed.push(entry);
    }
    return listed;
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
