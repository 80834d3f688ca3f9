// The layer store interface: what a build needs from a cache of layers,
// whatever the cache is. The local content-addressed store (store-local.ts)
// implements it now; a remote one (an OCI registry) can sit beside it later.
// Registries address blobs by sha256, and so does the local store (its
// integrity is `sha256-<base64>` of the same bytes); every entry records the
// OCI form of the digest in its metadata too.
//
// Every entry is bound to its key and its kind (entry-descriptor.ts): a
// lookup names both, and an entry that is not what it was looked up as is
// never returned (the step is built again).
import type { Readable } from 'node:stream';
import type { BlobSource } from './content-write.js';
import type { FileDigest, Integrity, LayerKey } from './digest.js';
import type { EntryKind, WantedKind } from './entry-descriptor.js';

/** What is recorded with a layer. */
export interface LayerMetadata {
  /** sha256 of the blob's bytes (`sha256:<hex>`): the OCI registry address of the same blob. */
  digest: FileDigest;
  /** OCI media type of the blob, e.g. application/vnd.oci.image.layer.v1.tar+zstd (application/octet-stream when its writer named none). */
  mediaType: string;
  /** The image being built when this layer was made (for `ls`). */
  image?: string;
  /** The step that made it, e.g. 'base-packages/install.d/50-foo' (for `ls`). */
  step?: string;
  [extra: string]: unknown;
}

/** Metadata given to putLayer: the store computes `digest` itself. */
export type LayerMetadataInput = Omit<LayerMetadata, 'digest' | 'mediaType'> & { mediaType?: string };

/** One layer (or output) in a store. */
export interface LayerEntry {
  key: LayerKey;
  /** What made it: the step kind of a layer, the format of an output. */
  kind: EntryKind;
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
  /**
   * The entry of `key` if the store has it, bound to `key` and of `kind`,
   * and its blob; else null (a miss). Counts as a use.
   */
  lookup(key: LayerKey, kind: WantedKind): Promise<LayerEntry | null>;
  /**
   * The blob's bytes, checked while streaming: the stream errors with code
   * EINTEGRITY (expected, found) at its end if they were wrong, so consume
   * it into something that is kept only on a clean end.
   */
  openLayer(entry: LayerEntry): Promise<Readable>;
  /** Stores a blob under `key` as a `kind` (replacing what `key` had) and returns the new entry. */
  putLayer(key: LayerKey, kind: EntryKind, blob: BlobSource, metadata: LayerMetadataInput): Promise<LayerEntry>;
  /** Forgets `key` (its blob goes at the next gc if nothing else uses it). */
  remove(key: LayerKey): Promise<void>;
  /** Every live entry (those whose descriptor holds). */
  list(): Promise<LayerEntry[]>;
  /**
   * Runs `fn` while no other build (any process) holds `key`: the way to
   * build a missing layer once, e.g.
   * `withKeyLock(k, async () => (await lookup(k, kind)) ?? build())`.
   */
  withKeyLock<T>(key: LayerKey, fn: () => Promise<T>): Promise<T>;
}
