// A remote cache: layer key -> blob, held as OCI manifests (cache-manifest.ts)
// in a registry or an OCI layout (the Transport). `lookup` reads the small
// config blob of each cache manifest once and answers from memory; `fetch`
// downloads a blob into a local store, checking its sha256 and size while it
// streams, so that a blob whose digest does not match never becomes a local
// entry; `push` uploads what a remote lacks (HEAD first) and tags a manifest.
//
// With a signer, `push` signs each entry (entry-trust.ts). With trusted keys,
// an entry whose signature none of them made never enters the index read
// from the manifests: `lookup` misses it, so it can neither be used nor
// shadow a trusted entry of the same key elsewhere, and `refusal` says why.
//
// Every method returns a Result: a remote that cannot be reached is a
// 'remote-cache' failure the caller may turn into a warning; a wrong blob is
// an 'integrity' failure.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fail, FailureError, ok, type Failure, type Result } from '../../failure.js';
import type { FileDigest, LayerKey } from '../digest.js';
import { IntegrityError } from '../integrity-error.js';
import type { LocalLayerStore } from '../store-local.js';
import type { LayerEntry, LayerMetadataInput, LayerStore } from '../store.js';
import { chainTag, decodeConfig, decodeManifest, encodeCache, imageTag, MANIFEST_MEDIA_TYPE, type RemoteEntry } from './cache-manifest.js';
import { signEntry, trustProblem, type EntrySigner, type EntryTrust } from './entry-trust.js';
import { parseCacheRef, type CacheRef } from './cache-ref.js';
import { OciLayoutTransport } from './oci-layout.js';
import { openRegistry, type RegistryOptions } from './registry-transport.js';
import { RemoteError, type Transport } from './transport.js';

export interface RemoteCacheOptions extends RegistryOptions {
  /** The image being built: its manifests are read first (its entries win). */
  image?: string;
  /** Read at most this many cache manifests (default 64). */
  maxManifests?: number;
  /** Signs every entry pushed. */
  signer?: EntrySigner;
  /** Only entries signed by these keys are read (none given: every entry is). */
  trust?: EntryTrust;
}

/** An entry of a remote that its trusted keys refused. */
export interface Refusal {
  key: LayerKey;
  /** The step that made it, if the entry says. */
  step?: string;
  /** Why, as the end of "the entry …". */
  why: string;
}

/** Counters for a build's JSON summary. */
export interface RemoteStats {
  hits: number;
  misses: number;
  bytesPulled: number;
  bytesPushed: number;
  blobsPushed: number;
  blobsSkipped: number;
  resumedUploads: number;
}

export interface PushReport {
  tags: string[];
  entries: number;
  blobsPushed: number;
  /** Blobs the remote already had (HEAD said so): not uploaded again. */
  blobsSkipped: number;
  bytesPushed: number;
  /** Keys asked for but not in the local store (or damaged there). */
  missing: LayerKey[];
}

/** Opens the remote cache `ref` names (nothing is contacted yet). */
export async function openRemoteCache(ref: CacheRef | string, opts: RemoteCacheOptions = {}): Promise<Result<RemoteCache>> {
  const parsed = typeof ref === 'string' ? parseCacheRef(ref) : ok(ref);
  if (!parsed.ok) return parsed;
  const r = parsed.value;
  if (r.kind === 'oci') return ok(new RemoteCache(r, new OciLayoutTransport(r.dir), opts));
  const transport = await openRegistry(r, opts);
  return transport.ok ? ok(new RemoteCache(r, transport.value, opts)) : transport;
}

export class RemoteCache {
  readonly stats: RemoteStats = { hits: 0, misses: 0, bytesPulled: 0, bytesPushed: 0, blobsPushed: 0, blobsSkipped: 0, resumedUploads: 0 };
  private readonly indexes = new Map<string, Promise<Map<LayerKey, RemoteEntry>>>();
  /** Keys held by the manifests of each image (its own tags). */
  private readonly imageKeys = new Map<string, Set<LayerKey>>();
  /** Entries the trusted keys refused, by key (the first refusal of each). */
  private readonly refused = new Map<LayerKey, Refusal>();

  constructor(
    readonly ref: CacheRef,
    readonly transport: Transport,
    private readonly opts: RemoteCacheOptions = {},
  ) {}

  /** The remote's entry of `key`, or null. The first call reads the manifests. */
  async lookup(key: LayerKey): Promise<Result<RemoteEntry | null>> {
    const index = await this.guard(() => this.loadIndex());
    if (!index.ok) return index;
    const entry = index.value.get(key) ?? null;
    if (entry) this.stats.hits++;
    else this.stats.misses++;
    return ok(entry);
  }

  /** Why the trusted keys refused the remote's entry of `key`, when it had one and they did (after a lookup that missed). */
  refusal(key: LayerKey): Refusal | null {
    return this.refused.get(key) ?? null;
  }

  /** Every entry the manifests of `image` hold (for `cache pull`): those the trusted keys accept, and the refused ones. */
  async entriesOf(image: string): Promise<Result<{ entries: RemoteEntry[]; refused: Refusal[] }>> {
    const index = await this.guard(() => this.loadIndex(image));
    if (!index.ok) return index;
    const mine = this.imageKeys.get(image) ?? new Set();
    const entries = [...index.value.values()].filter((e) => mine.has(e.key));
    const refused = [...mine].filter((k) => !index.value.has(k) && this.refused.has(k)).map((k) => this.refused.get(k)!);
    return ok({ entries, refused });
  }

  /** Downloads `entry`'s blob into `local` under its key, verified; an 'integrity' failure stores nothing. */
  async fetch(entry: RemoteEntry, local: LayerStore): Promise<Result<LayerEntry>> {
    return this.guard(async () => {
      const body = await this.transport.getBlob(entry.digest);
      if (!body) throw new RemoteError(`blob ${entry.digest} (key ${entry.key}) is listed but missing`, 404);
      const meta: LayerMetadataInput = { ...entry.metadata, mediaType: entry.mediaType };
      const stored = await local.putLayer(entry.key, entry.kind, verified(body, entry, `blob ${entry.digest} from ${this.ref.text}`, (n) => (this.stats.bytesPulled += n)), meta);
      if (stored.metadata.digest !== entry.digest) throw new IntegrityError(`blob of ${entry.key} from ${this.ref.text}`, entry.digest, stored.metadata.digest);
      return stored;
    });
  }

  /**
   * Pushes the entries of `keys` from `local`: blobs the remote lacks, the
   * config, and one manifest tagged `<image>` and `<image>--<final key>`.
   * Each entry is signed when this remote has a signer.
   */
  async push(image: string, keys: LayerKey[], local: LocalLayerStore, finalKey: LayerKey | null = keys[keys.length - 1] ?? null): Promise<Result<PushReport>> {
    return this.guard(async () => {
      const report: PushReport = { tags: [], entries: 0, blobsPushed: 0, blobsSkipped: 0, bytesPushed: 0, missing: [] };
      const entries: RemoteEntry[] = [];
      const done = new Set<string>();
      for (const key of [...new Set(keys)]) {
        const entry = await local.lookup(key, 'any');
        const file = entry ? await local.layerFile(entry) : null;
        if (!entry || !file?.ok) {
          report.missing.push(key);
          continue;
        }
        const { digest, mediaType, ...metadata } = entry.metadata;
        const unsigned: RemoteEntry = { key, kind: entry.kind, digest, size: entry.size, mediaType, metadata };
        entries.push(this.opts.signer ? signEntry(unsigned, this.opts.signer) : unsigned);
        if (done.has(entry.metadata.digest)) continue;
        done.add(entry.metadata.digest);
        await this.pushBlob(entry.metadata.digest, entry.size, file.value, report);
      }
      const encoded = encodeCache(image, finalKey, entries);
      await this.pushBlob(encoded.configDigest, encoded.config.length, encoded.config, report);
      const tags = [imageTag(image), ...(finalKey ? [chainTag(image, finalKey)] : [])];
      for (const tag of [...tags].reverse()) await this.transport.putManifest(tag, encoded.manifest, MANIFEST_MEDIA_TYPE);
      report.tags = tags;
      report.entries = entries.length;
      // What was just pushed is there now: later lookups through this handle find it.
      for (const loading of this.indexes.values()) {
        const index = await loading.catch(() => null);
        for (const e of entries) if (index && !index.has(e.key)) index.set(e.key, e);
      }
      for (const e of entries) this.imageKeys.get(image)?.add(e.key);
      return report;
    });
  }

  private async pushBlob(digest: FileDigest, size: number, source: string | Buffer, report: PushReport): Promise<void> {
    if (await this.transport.hasBlob(digest)) {
      report.blobsSkipped++;
      this.stats.blobsSkipped++;
      return;
    }
    const sent = await this.transport.putBlob(digest, size, source);
    report.blobsPushed++;
    report.bytesPushed += sent.bytesSent;
    this.stats.blobsPushed++;
    this.stats.bytesPushed += sent.bytesSent;
    this.stats.resumedUploads += sent.resumed;
  }

  /** The index as seen with `image`'s manifests first: read once per image; a failed read is tried again next time. */
  private loadIndex(image = this.opts.image ?? ''): Promise<Map<LayerKey, RemoteEntry>> {
    let loading = this.indexes.get(image);
    if (!loading) {
      loading = this.readIndex(image);
      this.indexes.set(image, loading);
      loading.catch(() => this.indexes.delete(image));
    }
    return loading;
  }

  /** Manifests in priority order: the image's moving tag, its chain tags, then every other cache manifest. */
  private async readIndex(image: string): Promise<Map<LayerKey, RemoteEntry>> {
    const all = await this.transport.listTags();
    const own = image ? imageTag(image) : null;
    const mineKeys = new Set<LayerKey>();
    this.imageKeys.set(image, mineKeys);
    const rank = (t: string): number => (t === own ? 0 : own && t.startsWith(`${own}--`) ? 1 : 2);
    const tags = [...all].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)).slice(0, this.opts.maxManifests ?? 64);
    const index = new Map<LayerKey, RemoteEntry>();
    const seenConfigs = new Set<string>();
    for (const tag of tags) {
      const m = await this.transport.getManifest(tag);
      const decoded = m ? decodeManifest(m.bytes) : null;
      if (!decoded || decoded.configSize > 16 * 1024 * 1024) continue;
      // `<image>` and `<image>--<key>` usually name the same manifest: read its config once.
      if (seenConfigs.has(decoded.configDigest)) continue;
      seenConfigs.add(decoded.configDigest);
      const mine = rank(tag) < 2;
      const body = await this.transport.getBlob(decoded.configDigest);
      if (!body) continue;
      const config = await readVerified(body, decoded.configDigest, decoded.configSize, `cache config ${decoded.configDigest} from ${this.ref.text}`);
      for (const e of decodeConfig(config, decoded)) {
        if (mine) mineKeys.add(e.key);
        if (index.has(e.key)) continue;
        const why = trustProblem(e, this.opts.trust);
        if (why === null) index.set(e.key, e);
        else if (!this.refused.has(e.key)) this.refused.set(e.key, { key: e.key, ...(typeof e.metadata.step === 'string' ? { step: e.metadata.step } : {}), why });
      }
    }
    return index;
  }

  /** Runs `fn`, turning remote and integrity errors into failures. */
  private async guard<T>(fn: () => Promise<T>): Promise<Result<T>> {
    try {
      return ok(await fn());
    } catch (e) {
      const failure = toFailure(e, this.ref.text);
      if (failure) return fail(failure);
      throw e;
    }
  }
}

export function toFailure(e: unknown, ref: string): Failure | null {
  if (e instanceof FailureError) return e.failure;
  if (e instanceof RemoteError) return { reason: 'remote-cache', ref, message: e.message, ...(e.status ? { status: e.status } : {}) };
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { reason: 'remote-cache', ref, message: (e as Error).message };
  return null;
}

/** Passes the bytes on and throws IntegrityError at the end (or as soon as there are too many) if they are not the entry's. */
async function* verified(body: Readable, entry: { digest: FileDigest; size: number }, what: string, count: (n: number) => void): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    count(chunk.length);
    if (size > entry.size) {
      body.destroy();
      throw new IntegrityError(what, `${entry.digest} (${entry.size} bytes)`, `more than ${entry.size} bytes`);
    }
    hash.update(chunk);
    yield chunk;
  }
  const found = `sha256:${hash.digest('hex')}`;
  if (found !== entry.digest || size !== entry.size) throw new IntegrityError(what, entry.digest, size === entry.size ? found : `${found} (${size} bytes)`);
}

async function readVerified(body: Readable, digest: FileDigest, size: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of verified(body, { digest, size }, what, () => undefined)) parts.push(chunk);
  return Buffer.concat(parts);
}
