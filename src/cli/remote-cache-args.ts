// The remote cache options of `build` (--cache-from, --cache-to, --cache-mode,
// --cache-required, --insecure-registry, --registry-ca, --cache-sign-key,
// --cache-trust) in one place: their yargs definitions and their check, so
// that a bad ref or key is a usage error before anything is built.
import type { Options } from 'yargs';
import { parseCacheRef } from '../cache/remote/cache-ref.js';
import type { CacheMode, RemoteCacheSettings } from '../cache/remote/caching-store.js';
import { FailureError } from '../failure.js';
import { cacheSigner, cacheTrust } from './cache-keys-arg.js';

export const REMOTE_CACHE_OPTIONS = {
  'cache-from': { type: 'string', array: true, describe: 'remote cache to look in when a step is not cached locally (repeatable): registry://host[:port]/repo or oci:<dir>' },
  'cache-to': { type: 'string', describe: 'remote cache to push this build\'s cache entries to afterwards' },
  'cache-mode': { choices: ['min', 'max'], default: 'min', describe: "what --cache-to gets: min = the final image's chain and outputs, max = every entry the build used" },
  'cache-required': { type: 'boolean', describe: 'fail the build if a remote cache cannot be reached (default: warn and build locally)' },
  'insecure-registry': { type: 'boolean', describe: 'allow plain HTTP to a registry on loopback' },
  'registry-ca': { type: 'string', array: true, describe: 'extra CA certificate (PEM) to trust for registries' },
  'cache-sign-key': { type: 'string', describe: 'sign the entries pushed to --cache-to with this private key (a PEM file, or env:NAME; or IMGFACTORY_CACHE_SIGN_KEY)' },
  'cache-trust': {
    type: 'string',
    array: true,
    describe: 'take from --cache-from only entries signed by this key (public key, private key or certificate PEM; repeatable; or IMGFACTORY_CACHE_TRUST, files separated by ":"); default: every entry, signed or not',
  },
} satisfies Record<string, Options>;

export interface RemoteCacheArgs {
  cacheFrom?: string[];
  cacheTo?: string;
  cacheMode?: string;
  cacheRequired?: boolean;
  insecureRegistry?: boolean;
  registryCa?: string[];
  cacheSignKey?: string;
  cacheTrust?: string[];
}

/**
 * The settings for openCachingStore, or null when no remote cache was named;
 * a bad ref or key throws a usage failure. The signing key and the trusted
 * keys come from the environment too (cache-keys-arg.ts) and are loaded only
 * for a remote that uses them.
 */
export async function remoteCacheSettings(a: RemoteCacheArgs): Promise<RemoteCacheSettings | null> {
  const from = a.cacheFrom ?? [];
  for (const ref of [...from, ...(a.cacheTo ? [a.cacheTo] : [])]) {
    const parsed = parseCacheRef(ref);
    if (!parsed.ok) throw new FailureError(parsed.error);
  }
  if (a.cacheSignKey !== undefined && !a.cacheTo) throw new FailureError({ reason: 'usage', message: '--cache-sign-key needs --cache-to' });
  if (a.cacheTrust !== undefined && from.length === 0) throw new FailureError({ reason: 'usage', message: '--cache-trust needs --cache-from' });
  if (from.length === 0 && !a.cacheTo) {
    if (a.cacheRequired) throw new FailureError({ reason: 'usage', message: '--cache-required needs --cache-from or --cache-to' });
    return null;
  }
  const mode: CacheMode = a.cacheMode === 'max' ? 'max' : 'min';
  const signer = a.cacheTo ? await cacheSigner(a.cacheSignKey) : null;
  const trust = from.length > 0 ? await cacheTrust(a.cacheTrust) : null;
  return {
    cacheFrom: from,
    cacheTo: a.cacheTo ?? null,
    mode,
    required: a.cacheRequired ?? false,
    insecure: a.insecureRegistry ?? false,
    ...(a.registryCa ? { caFiles: a.registryCa } : {}),
    ...(signer ? { signer } : {}),
    ...(trust ? { trust } : {}),
  };
}
