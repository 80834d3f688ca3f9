// How cache entries look in an OCI registry or layout: one OCI image
// manifest per pushed chain, any registry can hold it.
//
//   manifest (application/vnd.oci.image.manifest.v1+json), tagged
//     <image>                 the image's latest push (a moving tag)
//     <image>--<24 hex>       this chain, by its final key (never moves)
//   ├─ config: application/vnd.imgfactory.cache.config.v2+json
//   │    {"v":"imgfactory.cache.v2","image":…,"finalKey":…,
//   │     "entries":[{key, kind, digest, size, mediaType, metadata,
//   │                 signature?}, …]}
//   └─ layers: each distinct blob the entries point at
//
// The config is the map "layer key -> blob": a remote answers "do you have
// key K" by reading one small blob per manifest. Each entry is an entry
// descriptor (../entry-descriptor.ts) and, when its pusher had a key, the
// signature over it (entry-trust.ts). Decoding checks every key, kind and
// digest, the signature's shape, and that each entry's blob is among the
// manifest's layers. v1 configs (no kind, no signature) are not read.
import { canonicalJson } from '../canonical-json.js';
import { hexOf, isFileDigest, isLayerKey, sha256Buffer, type FileDigest, type LayerKey } from '../digest.js';
import { isEntryKind } from '../entry-descriptor.js';
import { isEntrySignature, type SignedEntry } from './entry-trust.js';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.imgfactory.cache.config.v2+json';
export const CACHE_FORMAT = 'imgfactory.cache.v2';

/** One cache entry as a remote holds it: its descriptor (digest: the blob's address in the registry) and its pusher's signature, if any. */
export type RemoteEntry = SignedEntry;

export interface CacheConfig {
  v: typeof CACHE_FORMAT;
  image: string;
  finalKey: LayerKey | null;
  entries: RemoteEntry[];
}

export interface EncodedCache {
  config: Buffer;
  configDigest: FileDigest;
  manifest: Buffer;
}

export function encodeCache(image: string, finalKey: LayerKey | null, entries: RemoteEntry[]): EncodedCache {
  const cfg: CacheConfig = { v: CACHE_FORMAT, image, finalKey, entries };
  const config = Buffer.from(canonicalJson(cfg));
  const configDigest = sha256Buffer(config);
  const layers = new Map<string, { mediaType: string; digest: string; size: number }>();
  for (const e of entries) if (!layers.has(e.digest)) layers.set(e.digest, { mediaType: e.mediaType, digest: e.digest, size: e.size });
  const manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: configDigest, size: config.length },
    layers: [...layers.values()],
    annotations: { 'dev.imgfactory.image': image, ...(finalKey ? { 'dev.imgfactory.final-key': finalKey } : {}) },
  };
  return { config, configDigest, manifest: Buffer.from(JSON.stringify(manifest)) };
}

export interface DecodedManifest {
  configDigest: FileDigest;
  configSize: number;
  layers: Map<string, number>;
}

/** The config and layers of a cache manifest; null if the manifest is something else (not ours). */
export function decodeManifest(bytes: Buffer): DecodedManifest | null {
  let m: { config?: { mediaType?: unknown; digest?: unknown; size?: unknown }; layers?: unknown };
  try {
    m = JSON.parse(bytes.toString('utf8')) as typeof m;
  } catch {
    return null;
  }
  const c = m.config;
  if (!c || c.mediaType !== CACHE_CONFIG_MEDIA_TYPE || typeof c.digest !== 'string' || !isFileDigest(c.digest) || typeof c.size !== 'number') return null;
  if (!Array.isArray(m.layers)) return null;
  const layers = new Map<string, number>();
  for (const l of m.layers as { digest?: unknown; size?: unknown }[]) {
    if (typeof l?.digest === 'string' && isFileDigest(l.digest) && typeof l.size === 'number') layers.set(l.digest, l.size);
  }
  return { configDigest: c.digest, configSize: c.size, layers };
}

/** The entries of a config blob; entries that do not check out against the manifest are dropped. */
export function decodeConfig(bytes: Buffer, manifest: DecodedManifest): RemoteEntry[] {
  let cfg: Partial<CacheConfig>;
  try {
    cfg = JSON.parse(bytes.toString('utf8')) as Partial<CacheConfig>;
  } catch {
    return [];
  }
  if (cfg.v !== CACHE_FORMAT || !Array.isArray(cfg.entries)) return [];
  return cfg.entries.filter(
    (e): e is RemoteEntry =>
      typeof e?.key === 'string' &&
      isLayerKey(e.key) &&
      isEntryKind(e.kind) &&
      typeof e.digest === 'string' &&
      isFileDigest(e.digest) &&
      manifest.layers.get(e.digest) === e.size &&
      typeof e.mediaType === 'string' &&
      typeof e.metadata === 'object' &&
      e.metadata !== null &&
      !Array.isArray(e.metadata) &&
      (e.signature === undefined || isEntrySignature(e.signature)),
  );
}

/** A tag from an image name: the tag grammar is [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
export function imageTag(image: string): string {
  const t = image.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]/, '_').slice(0, 100);
  return t === '' ? '_' : t;
}

/** The immutable tag of one pushed chain. */
export function chainTag(image: string, finalKey: LayerKey): string {
  return `${imageTag(image)}--${hexOf(finalKey).slice(0, 24)}`;
}
