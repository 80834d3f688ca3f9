// The local store with remote caches behind it, for `build --cache-from /
// --cache-to`. It IS a LocalLayerStore (the builder applies local blob files
// in place), whose lookup falls back to each --cache-from in order: a remote
// hit is downloaded, verified and stored locally, then returned as a local
// entry. It remembers every key the build found or stored, so that after the
// build `push` can send the image's chain (mode=min) or all of it (mode=max).
//
// A remote that is down, slow or refuses us is a warning and is not asked
// again in this build (or a FailureError with --cache-required); a blob
// whose digest does not match, an entry of another kind than the step
// wants, and (with --cache-trust) an entry no trusted key signed are
// rejected with a warning naming the remote and the key, and the step is
// built locally.
import path from 'node:path';
import { FailureError, type Failure, type Result } from '../../failure.js';
import type { LayerKey } from '../digest.js';
import type { BlobSource } from '../content-write.js';
import { bindingProblem, describeEntry, VOLATILE_RECORD_KIND, type EntryKind, type WantedKind } from '../entry-descriptor.js';
import { LocalLayerStore } from '../store-local.js';
import type { LayerEntry, LayerMetadataInput } from '../store.js';
import type { EntrySigner, EntryTrust } from './entry-trust.js';
import { openRemoteCache, type PushReport, type RemoteCache, type RemoteCacheOptions, type RemoteStats } from './remote-cache.js';

export type CacheMode = 'min' | 'max';

/** What `build` is given on its command line. */
export interface RemoteCacheSettings {
  /** --cache-from refs, asked in this order. */
  cacheFrom: string[];
  /** --cache-to ref, or null. */
  cacheTo: string | null;
  /** min: the final image's chain and its outputs; max: every entry the build found or stored. */
  mode: CacheMode;
  /** --cache-required: a remote that fails fails the build. */
  required: boolean;
  /** --insecure-registry: plain HTTP to a loopback registry. */
  insecure: boolean;
  /** --registry-ca files. */
  caFiles?: string[];
  /** Stall timeout per request (default 30 s, or IMGFACTORY_REGISTRY_TIMEOUT seconds). */
  timeoutMs?: number;
  /** --cache-sign-key: signs what --cache-to gets. */
  signer?: EntrySigner;
  /** --cache-trust: only entries these keys signed are taken from --cache-from (none: every entry is). */
  trust?: EntryTrust;
}

export interface RemoteSummary {
  ref: string;
  role: 'from' | 'to';
  stats: RemoteStats;
  /** Set when it failed and the build went on without it. */
  warning?: string;
}

/** Opens the local store at `cacheDir` with the remotes of `settings` behind it (usage failures throw). */
export async function openCachingStore(cacheDir: string, image: string, settings: RemoteCacheSettings, warn: (message: string) => void): Promise<CachingLayerStore> {
  const envTimeout = Number(process.env.IMGFACTORY_REGISTRY_TIMEOUT);
  const opts: RemoteCacheOptions = {
    image,
    insecure: settings.insecure,
    ...(settings.caFiles ? { caFiles: settings.caFiles } : {}),
    idleTimeoutMs: settings.timeoutMs ?? (envTimeout > 0 ? envTimeout * 1000 : 30_000),
  };
  const open = async (ref: string, push: boolean, keys: Pick<RemoteCacheOptions, 'signer' | 'trust'>): Promise<RemoteCache> => {
    const r = await openRemoteCache(ref, { ...opts, ...keys, push });
    if (!r.ok) throw new FailureError(r.error);
    return r.value;
  };
  const from: RemoteCache[] = [];
  for (const ref of settings.cacheFrom) from.push(await open(ref, false, settings.trust ? { trust: settings.trust } : {}));
  const to = settings.cacheTo ? await open(settings.cacheTo, true, settings.signer ? { signer: settings.signer } : {}) : null;
  return new CachingLayerStore(path.resolve(cacheDir), from, to, settings, warn);
}

/**
 * The store a build uses: a plain LocalLayerStore without remote settings,
 * else a CachingLayerStore. Usage failures (a bad ref, --insecure-registry to
 * a remote host, an unreadable CA file) throw; nothing is contacted yet.
 */
export async function layerStoreFor(cacheDir: string, image: string, remote: RemoteCacheSettings | null, warn: (message: string) => void): Promise<LocalLayerStore> {
  const store = remote ? await openCachingStore(cacheDir, image, remote, warn) : new LocalLayerStore(path.resolve(cacheDir));
  store.onDamage = warn;
  return store;
}

export class CachingLayerStore extends LocalLayerStore {
  /** Every key the build found (locally or remotely) or stored. */
  readonly used = new Set<LayerKey>();
  private readonly down = new Map<RemoteCache, string>();
  /** Remote entries already warned about (`<ref> <key>`): a build looks a key up more than once. */
  private readonly refused = new Set<string>();

  constructor(
    dir: string,
    readonly from: RemoteCache[],
    readonly to: RemoteCache | null,
    private readonly settings: Pick<RemoteCacheSettings, 'mode' | 'required'>,
    private readonly warn: (message: string) => void,
  ) {
    super(dir);
  }

  override async lookup(key: LayerKey, kind: WantedKind): Promise<LayerEntry | null> {
    const local = await super.lookup(key, kind);
    if (local) {
      this.used.add(key);
      return local;
    }
    for (const remote of this.from) {
      if (this.down.has(remote)) continue;
      const found = await remote.lookup(key);
      if (!found.ok) {
        this.giveUp(remote, found.error);
        continue;
      }
      if (!found.value) {
        const refused = remote.refusal(key);
        if (refused) this.refuse(remote, key, refused.step, refused.why);
        continue;
      }
      const unfit = bindingProblem(describeEntry(found.value), { key, kind });
      if (unfit) {
        this.refuse(remote, key, found.value.metadata.step, unfit);
        continue;
      }
      const fetched = await remote.fetch(found.value, this);
      if (fetched.ok) {
        this.used.add(key);
        return fetched.value;
      }
      if (fetched.error.reason === 'integrity') {
        this.warn(`rejected a blob from ${remote.ref.text}: ${fetched.error.what} should be ${fetched.error.expected} but is ${fetched.error.found}; building the step instead`);
        continue;
      }
      this.giveUp(remote, fetched.error);
    }
    return null;
  }

  override async putLayer(key: LayerKey, kind: EntryKind, blob: BlobSource, metadata: LayerMetadataInput): Promise<LayerEntry> {
    const entry = await super.putLayer(key, kind, blob, metadata);
    this.used.add(key);
    return entry;
  }

  /**
   * Pushes to --cache-to after a build whose layer keys, in order, are
   * `chain`. mode=min: the chain and the outputs found or stored; mode=max:
   * every key used. Null if there is no --cache-to; a failure is a warning
   * (null) unless --cache-required.
   */
  async push(image: string, chain: LayerKey[]): Promise<PushReport | null> {
    if (!this.to) return null;
    let keys: LayerKey[] = [...chain];
    for (const key of this.used) {
      if (keys.includes(key)) continue;
      if (this.settings.mode === 'max') keys.push(key);
      else {
        const entry = await super.lookup(key, 'any');
        // Outputs, and the records that name a chain step's key (engine/chain.ts): without its record, another runner cannot find that step.
        if (entry && (entry.kind.startsWith('output/') || entry.kind === VOLATILE_RECORD_KIND)) keys.push(key);
      }
    }
    keys = [...new Set(keys)];
    const pushed: Result<PushReport> = await this.to.push(image, keys, this, chain[chain.length - 1] ?? null);
    if (pushed.ok) return pushed.value;
    this.giveUp(this.to, pushed.error);
    return null;
  }

  /** Per remote: counters, and the warning if it was given up on (for --json). */
  summary(): RemoteSummary[] {
    const one = (r: RemoteCache, role: RemoteSummary['role']): RemoteSummary => ({ ref: r.ref.text, role, stats: { ...r.stats }, ...(this.down.has(r) ? { warning: this.down.get(r)! } : {}) });
    return [...this.from.map((r) => one(r, 'from')), ...(this.to ? [one(this.to, 'to')] : [])];
  }

  /** Warns, once per remote and key, that an entry is not used and why. */
  private refuse(remote: RemoteCache, key: LayerKey, step: unknown, why: string): void {
    if (this.refused.has(`${remote.ref.text} ${key}`)) return;
    this.refused.add(`${remote.ref.text} ${key}`);
    this.warn(`not using the entry of ${key}${typeof step === 'string' ? ` (${step})` : ''} from ${remote.ref.text}: it ${why}; building the step instead`);
  }

  private giveUp(remote: RemoteCache, failure: Failure): void {
    if (this.settings.required) throw new FailureError(failure);
    const message = failure.reason === 'remote-cache' ? failure.message : failure.reason;
    this.down.set(remote, message);
    this.warn(`remote cache ${remote.ref.text} unavailable (${message}); going on without it`);
  }
}
