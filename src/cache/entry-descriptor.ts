// An entry's descriptor: the small document that binds a cache key to what it
// holds. It is stored in the content store like a blob (so it is addressed,
// and checked, by its own integrity), and an index line names it beside the
// blob. A read trusts an entry only when its descriptor names the key it was
// looked up by, the kind of thing the reader wants, and the blob the line
// names: a line re-pointed at another entry's blob or descriptor (with a
// valid line checksum) is caught there, never applied.
//
//   {"digest":"sha256:<blob>","key":"sha256:<key>","kind":"layer/hook",
//    "mediaType":"application/vnd.oci.image.layer.v1.tar+zstd",
//    "metadata":{"diffId":…,"image":…,"step":…},"size":1234,
//    "v":"imgfactory.entry.v1"}                     (canonical JSON, one line)
//
// It is an OCI descriptor (digest, size, media type) plus the key and kind,
// and it is what a remote cache entry holds too (remote/cache-manifest.ts):
// the bytes a builder signs when it pushes (remote/entry-trust.ts).
import { canonicalJson } from './canonical-json.js';
import { isFileDigest, isLayerKey, type FileDigest, type LayerKey } from './digest.js';
import { ENTRY_TAG } from './format.js';

/**
 * What made an entry: a step's layer by step kind (`layer/hook`,
 * `layer/base`, …), or a build output by format (`output/tar`,
 * `output/qcow2`, `output/installed-packages`). A reader says which it wants.
 */
export type EntryKind = `layer/${string}` | `output/${string}`;

/**
 * The record of which volatile paths a step's change held (engine/chain.ts):
 * not a layer, but it names the key a layer of the chain is stored under,
 * so it travels with the chain. Its blob is the JSON list of paths, which
 * its metadata (`matched`) also carries.
 */
export const VOLATILE_RECORD_KIND: EntryKind = 'layer/volatile-record';

/** What a lookup accepts: one kind, or (cache administration: push, pull, ls) any. */
export type WantedKind = EntryKind | 'any';

/** Media type of a blob whose writer names none (outputs: a tar, a disk image, a package list). */
export const DEFAULT_BLOB_MEDIA_TYPE = 'application/octet-stream';

/** Descriptors are small; anything larger is not one (a line pointed at a blob). */
export const MAX_DESCRIPTOR_BYTES = 64 * 1024;

export interface EntryDescriptor {
  v: typeof ENTRY_TAG;
  /** The cache key the entry answers. */
  key: LayerKey;
  kind: EntryKind;
  /** sha256 of the blob (its OCI address; its integrity in the content store). */
  digest: FileDigest;
  size: number;
  mediaType: string;
  /** What else is recorded with the blob: image and step (for `cache ls`), a layer's diffId, an output's sha512, md5 and virtual size. */
  metadata: Record<string, unknown>;
}

export function isEntryKind(value: unknown): value is EntryKind {
  return typeof value === 'string' && /^(layer|output)\/[A-Za-z0-9._-]+$/.test(value);
}

/** The descriptor of an entry (metadata fields left undefined are dropped: canonical JSON has no undefined). */
export function describeEntry(d: Omit<EntryDescriptor, 'v'>): EntryDescriptor {
  const metadata = Object.fromEntries(Object.entries(d.metadata).filter(([, value]) => value !== undefined));
  return { v: ENTRY_TAG, key: d.key, kind: d.kind, digest: d.digest, size: d.size, mediaType: d.mediaType, metadata };
}

/** The descriptor's bytes: canonical JSON, so a signature over them is reproducible. */
export function encodeDescriptor(d: EntryDescriptor): Buffer {
  return Buffer.from(canonicalJson(d));
}

/** A descriptor from its bytes, or what is wrong with them. */
export function parseDescriptor(bytes: Buffer): EntryDescriptor | string {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'is not an entry descriptor (not JSON)';
  }
  const d = v as Partial<EntryDescriptor>;
  if (typeof v !== 'object' || v === null || d.v !== ENTRY_TAG) return `is not an ${ENTRY_TAG} descriptor`;
  if (typeof d.key !== 'string' || !isLayerKey(d.key) || !isEntryKind(d.kind) || typeof d.digest !== 'string' || !isFileDigest(d.digest)) {
    return 'lacks a key, a kind or a blob digest';
  }
  if (typeof d.size !== 'number' || typeof d.mediaType !== 'string' || typeof d.metadata !== 'object' || d.metadata === null || Array.isArray(d.metadata)) {
    return 'lacks a size, a media type or metadata';
  }
  return d as EntryDescriptor;
}

/** What the reader of an entry expects it to be. */
export interface Expected {
  key: LayerKey;
  kind: WantedKind;
  /** The blob the index line names, when there is one. */
  digest?: FileDigest;
  size?: number;
}

/** Null when `d` is the entry `expected` describes; otherwise what it is instead, in words. */
export function bindingProblem(d: EntryDescriptor, expected: Expected): string | null {
  const made = typeof d.metadata.step === 'string' ? ` (${d.metadata.step})` : '';
  if (d.key !== expected.key) return `is bound to another key, ${d.key}${made}`;
  if (expected.kind !== 'any' && d.kind !== expected.kind) return `is of kind ${d.kind}, not ${expected.kind}`;
  if (expected.digest !== undefined && d.digest !== expected.digest) return `names blob ${expected.digest}, but its descriptor binds blob ${d.digest}`;
  if (expected.size !== undefined && d.size !== expected.size) return `names ${expected.size} bytes, but its descriptor binds ${d.size}`;
  return null;
}
