// `imgfactory cache push|pull <image> <ref>`: move an image's cache entries
// between the local cache and a remote one (registry://host/repo or
// oci:<dir>) explicitly, e.g. to seed a registry or hand a cache over to an
// air-gapped site. Unlike `build --cache-from`, a remote that fails here is
// an error (exit 1), and a blob that does not match its digest is exit 3, as
// is (with --trust) an entry no trusted key signed; push --sign-key signs
// what it sends.
import type { Argv, CommandModule } from 'yargs';
import type { LayerKey } from '../cache/digest.js';
import { VOLATILE_RECORD_KIND } from '../cache/entry-descriptor.js';
import { openRemoteCache, type RemoteCache } from '../cache/remote/remote-cache.js';
import { LocalLayerStore } from '../cache/store-local.js';
import type { LayerEntry } from '../cache/store.js';
import { EXIT_CODES, FailureError, type Failure } from '../failure.js';
import { formatBytes } from '../util/format.js';
import type { Handler } from './main.js';
import { cacheSigner, cacheTrust } from './cache-keys-arg.js';
import { REMOTE_CACHE_OPTIONS } from './remote-cache-args.js';

interface RemoteArgs {
  cacheDir: string;
  json?: boolean;
  image: string;
  ref: string;
  insecureRegistry?: boolean;
  registryCa?: string[];
  signKey?: string;
  trust?: string[];
}

type Run = <A>(h: Handler<A>) => (a: A) => Promise<void>;

const remoteOptions = (y: Argv): Argv =>
  y
    .positional('image', { type: 'string', demandOption: true, describe: 'image name the entries were built for' })
    .positional('ref', { type: 'string', demandOption: true, describe: 'registry://host[:port]/repo or oci:<dir>' })
    .option('insecure-registry', REMOTE_CACHE_OPTIONS['insecure-registry'])
    .option('registry-ca', REMOTE_CACHE_OPTIONS['registry-ca']);

async function open(a: RemoteArgs, push: boolean): Promise<RemoteCache> {
  const signer = push ? await cacheSigner(a.signKey) : null;
  const trust = push ? null : await cacheTrust(a.trust);
  const r = await openRemoteCache(a.ref, {
    image: a.image,
    push,
    insecure: a.insecureRegistry ?? false,
    ...(a.registryCa ? { caFiles: a.registryCa } : {}),
    ...(signer ? { signer } : {}),
    ...(trust ? { trust } : {}),
  });
  if (!r.ok) throw new FailureError(r.error);
  return r.value;
}

/**
 * What `cache push <image>` sends, oldest first: the entries the image
 * stored, and the volatile records its layers are found by (engine/chain.ts),
 * whichever image wrote a record last.
 */
export function entriesOfImage(all: LayerEntry[], image: string): LayerEntry[] {
  const named = new Set(all.filter((e) => e.metadata.image === image).map((e) => e.metadata.volatileRecord));
  return all.filter((e) => e.metadata.image === image || (e.kind === VOLATILE_RECORD_KIND && named.has(e.key))).sort((x, y) => x.time - y.time);
}

export function cachePushCommand(run: Run): CommandModule<object, RemoteArgs> {
  return {
    command: 'push <image> <ref>',
    describe: "push every local entry of <image> to a registry or OCI layout (only blobs it lacks are uploaded)",
    builder: ((y: Argv) => remoteOptions(y).option('sign-key', { type: 'string', describe: 'sign every entry pushed with this private key (a PEM file, or env:NAME; or IMGFACTORY_CACHE_SIGN_KEY)' })) as never,
    handler: run<RemoteArgs>(async (a, out) => {
      const local = new LocalLayerStore(a.cacheDir);
      const entries = entriesOfImage(await local.list(), a.image);
      if (entries.length === 0) throw new FailureError({ reason: 'usage', message: `no cache entries of image "${a.image}" in ${a.cacheDir}`, hint: 'see `imgfactory cache ls`' });
      const layers = entries.filter((e) => e.kind.startsWith('layer/') && e.kind !== VOLATILE_RECORD_KIND);
      const finalKey = (layers[layers.length - 1] ?? entries[entries.length - 1]!).key as LayerKey;
      const remote = await open(a, true);
      const pushed = await remote.push(a.image, entries.map((e) => e.key as LayerKey), local, finalKey);
      if (!pushed.ok) throw new FailureError(pushed.error);
      const r = pushed.value;
      if (a.json) out.json({ ref: a.ref, ...r });
      else {
        out.info(`pushed ${r.entries} entries to ${a.ref}: ${r.blobsPushed} blobs uploaded (${formatBytes(r.bytesPushed)}), ${r.blobsSkipped} already there`);
        out.info(`tags: ${r.tags.join(', ')}`);
        if (r.missing.length) out.warn(`${r.missing.length} entries were missing or damaged locally and not pushed`);
      }
      return 0;
    }),
  };
}

export function cachePullCommand(run: Run): CommandModule<object, RemoteArgs> {
  return {
    command: 'pull <image> <ref>',
    describe: 'pull every cache entry of <image> from a registry or OCI layout (each blob checked against its digest)',
    builder: ((y: Argv) =>
      remoteOptions(y).option('trust', {
        type: 'string',
        array: true,
        describe: 'pull only entries signed by this key (public key, private key or certificate PEM; repeatable; or IMGFACTORY_CACHE_TRUST, files separated by ":"); the others are refused (exit 3)',
      })) as never,
    handler: run<RemoteArgs>(async (a, out) => {
      const local = new LocalLayerStore(a.cacheDir);
      const remote = await open(a, false);
      const listed = await remote.entriesOf(a.image);
      if (!listed.ok) throw new FailureError(listed.error);
      const { entries, refused } = listed.value;
      if (entries.length + refused.length === 0) throw new FailureError({ reason: 'usage', message: `${a.ref} has no cache entries of image "${a.image}"` });
      let fetched = 0;
      let present = 0;
      const failed: { key: string; failure: Failure }[] = [];
      for (const entry of entries) {
        const have = await local.lookup(entry.key, entry.kind);
        if (have && have.metadata.digest === entry.digest) {
          present++;
          continue;
        }
        const got = await remote.fetch(entry, local);
        if (got.ok) fetched++;
        else if (got.error.reason === 'integrity') failed.push({ key: entry.key, failure: got.error });
        else throw new FailureError(got.error);
      }
      for (const f of failed) if (f.failure.reason === 'integrity') out.error(`rejected ${f.key}: ${f.failure.what}: expected ${f.failure.expected}, found ${f.failure.found}`);
      for (const r of refused) out.error(`refused ${r.key}${r.step ? ` (${r.step})` : ''} from ${a.ref}: it ${r.why}`);
      if (a.json) {
        const untrusted = refused.map((r) => ({ key: r.key, why: r.why }));
        out.json({ ref: a.ref, entries: entries.length + refused.length, fetched, present, bytesPulled: remote.stats.bytesPulled, rejected: failed.map((f) => f.key), untrusted });
      } else out.info(`pulled ${fetched} entries from ${a.ref} (${formatBytes(remote.stats.bytesPulled)}), ${present} already here${refused.length ? `, ${refused.length} refused` : ''}`);
      return failed.length + refused.length ? EXIT_CODES.integrity : 0;
    }),
  };
}
