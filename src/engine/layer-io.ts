// Moving a step's change between the overlay, the cache and the tree. A built
// step's upper dir is packed into a layer blob (spooled in the build dir) and
// stored; then its files are moved onto the tree (layer-merge.ts), which
// makes the tree applying that blob would: cold and warm builds construct the
// tree the same way (test/integration/layer-roundtrip.root.test.ts).
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { hexOf, type FileDigest, type LayerKey } from '../cache/digest.js';
import type { EntryKind } from '../cache/entry-descriptor.js';
import { applyLayer } from '../cache/layer-apply.js';
import { mergeLayer } from '../cache/layer-merge.js';
import type { SharedFiles } from '../cache/shared-files.js';
import { packWalked, type PackResult } from '../cache/layer-pack.js';
import { walkLayer, type WalkResult } from '../cache/layer-walk.js';
import { LocalLayerStore } from '../cache/store-local.js';
import type { LayerEntry, LayerStore } from '../cache/store.js';
import { unwrap } from '../failure.js';
import type { Step } from '../steps/index.js';
import { sameFilesystem } from '../util/same-filesystem.js';

export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+zstd';

/** The kind a step's layer is stored and looked up as: its step kind (a base tree is never taken for a hook's layer). */
export const layerKindOf = (step: Step): EntryKind => `layer/${step.kind}`;

export interface PackedLayer {
  file: string;
  digest: FileDigest;
  size: number;
  pack: PackResult;
  /** What was packed, and from where: what moveToTree moves. */
  sourceDir: string;
  walked: WalkResult;
}

/**
 * Packs a step's change into the spool; `onTar` sees the uncompressed tar as it goes by (the check for
 * secrets); `signal` stops the packing half-way (the spool goes with the build dir).
 */
export async function packStep(
  sourceDir: string,
  source: 'upper' | 'tree',
  spoolDir: string,
  name: string,
  opts: { onTar?: (chunk: Buffer) => void; signal?: AbortSignal } = {},
): Promise<PackedLayer> {
  const file = path.join(spoolDir, `${name}.tar.zst`);
  await rm(file, { force: true });
  const walked = unwrap(await walkLayer(sourceDir, { source }));
  // No mtime clamping here: the tree must get exactly the mtimes the layer holds.
  const pack = unwrap(await packWalked(walked, sourceDir, file, opts));
  return { file, digest: pack.digest, size: pack.size, pack, sourceDir, walked };
}

/**
 * Puts a layer just packed onto the tree: its files are moved there (those a
 * checkpoint already holds linked from it instead, given `shared`), or,
 * across filesystems, the blob is applied. Returns the files and bytes linked.
 */
export async function moveToTree(layer: PackedLayer, tree: string, shared?: SharedFiles): Promise<{ files: number; bytes: number }> {
  if (await sameFilesystem(layer.sourceDir, tree)) return unwrap(await mergeLayer(layer.walked, layer.sourceDir, tree, shared)).shared;
  await applyToTree(layer.file, tree);
  return { files: 0, bytes: 0 };
}

export async function applyToTree(blobFile: string, tree: string): Promise<void> {
  unwrap(await applyLayer(blobFile, tree));
}

/**
 * Copies a cached layer into the spool, checking its integrity on the way.
 * Returns null (and forgets the entry) when the blob is damaged or gone: the
 * caller rebuilds the step; a damaged layer is never applied.
 */
export async function fetchLayer(store: LayerStore, entry: LayerEntry, spoolDir: string, name: string): Promise<{ file: string } | { damaged: string }> {
  if (store instanceof LocalLayerStore) {
    // A local blob is checked in place (one read) and applied from where it is.
    const checked = await store.layerFile(entry);
    if (checked.ok) return { file: checked.value };
    await store.remove(entry.key);
    return { damaged: checked.error.reason === 'integrity' ? `integrity mismatch (expected ${checked.error.expected}, found ${checked.error.found})` : 'blob missing or unreadable' };
  }
  const file = path.join(spoolDir, `${name}.tar.zst`);
  try {
    await pipeline(await store.openLayer(entry), createWriteStream(file));
    return { file };
  } catch (e) {
    await rm(file, { force: true });
    const err = e as NodeJS.ErrnoException & { expected?: unknown; found?: unknown };
    if (err.code === 'EINTEGRITY' || err.code === 'ENOENT') {
      await store.remove(entry.key);
      return { damaged: err.code === 'EINTEGRITY' ? `integrity mismatch (expected ${String(err.expected)}, found ${String(err.found)})` : 'blob missing' };
    }
    throw e;
  }
}

/** Stores the spooled blob, which is moved into a local cache: call it after moveToTree, which may apply the blob. */
export async function storeLayer(store: LayerStore, key: LayerEntry['key'], kind: EntryKind, layer: PackedLayer, metadata: { image: string; step: string; volatileRecord?: LayerKey }): Promise<LayerEntry> {
  const blob = { path: layer.file, size: layer.size, sha256: hexOf(layer.digest), owned: true };
  return store.putLayer(key, kind, blob, { ...metadata, mediaType: LAYER_MEDIA_TYPE, diffId: layer.pack.diffId, unpackedSize: layer.pack.uncompressedSize });
}

/** The bytes of a layer's tar, as recorded when it was stored (entries stored before that was recorded: unknown). */
export function unpackedSize(entry: LayerEntry): number | undefined {
  const size = entry.metadata.unpackedSize;
  return typeof size === 'number' ? size : undefined;
}
