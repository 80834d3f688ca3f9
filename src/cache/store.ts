// The layer store interface: what a build needs from a cache of layers,
// whatever the cache is. The local content-addressed store (store-local.ts)
// implements it now; a remote one (an OCI registry) can sit beside it later.
// Registries address blobs by sha256, and so does the local store (its
// integrity is `sha256-<base64>` of the same bytes); every entry records the
// OCI form of the digest in its metadata too.
import type { Readable } from 'node:stream';
import type { BlobSource } from './content-write.js';
import type { FileDigest, Integrity, LayerKey } from './digest.js';

/** What is recorded with a layer. */
export interface LayerMetadata {
  /** sha256 of the blob's bytes (`sha256:<hex>`): the OCI registry address of the same blob. */
  digest: FileDigest;
  /** OCI media type of the blob, e.g. application/vnd.oci.image.layer.v1.tar+zstd. */
  mediaType?: string;
  /** The image being built when this layer was made (for `ls`). */
  image?: string;
  /** The step that made it, e.g. 'base-packages/install.d/50-foo' (for `ls`). */
  step?: string;
  [extra: string]: unknown;
}

/** Metadata given to putLayer: the store computes `digest` itself. */
export type LayerMetadataInput = Omit<LayerMetadata, 'digest'>;

/** One layer in a store. */
export interface LayerEntry {
  key: LayerKey;
  /** ssri integrity (sha256) of the blob. */
  integrity: Integrity;
  /** Size of the blob in bytes. */
  size: number;
  /** When it was stored (ms since the epoch). */
  time: number;
  /** When it was last stored or found (ms since the epoch). */
  lastUse: number;
  metadata: LayerMetadata;
}

export interface LayerStore {
  /** 'local', 'registry', ...: for messages. */
  readonly kind: string;
  /** The entry of `key` if the store has it and its blob, else null (a miss). Counts as a use. */
  lookup(key: LayerKey): Promise<LayerEntry | null>;
  /**
   * The blob's bytes, checked while streaming: the stream errors with code
   * EINTEGRITY (expected, found) at its end if they were wrong, so consume
   * it into something that is kept only on a clean end.
   */
  openLayer(entry: LayerEntry): Promise<Readable>;
  /** Stores a blob under `key` (replacing what `key` had) and returns the new entry. */
  putLayer(key: LayerKey, blob: BlobSource, metadata: LayerMetadataInput): Promise<LayerEntry>;
  /** Forgets `key` (its blob goes at the next gc if nothing else uses it). */
  remove(key: LayerKey): Promise<void>;
  /** Every live entry. */
  list(): Promise<LayerEntry[]>;
  /**
   * Runs `fn` while no other build (any process) holds `key`: the way to
   * build a missing layer once, e.g.
   * `withKeyLock(k, async () => (await lookup(k)) ?? build())`.
   */
  withKeyLock<T>(key: LayerKey, fn: () => Promise<T>): Promise<T>;
}
