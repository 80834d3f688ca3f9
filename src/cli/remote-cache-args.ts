// The remote cache options of `build` (--cache-from, --cache-to, --cache-mode,
// --cache-required, --insecure-registry, --registry-ca) in one place: their
// yargs definitions and their check, so that a bad ref is a usage error
// before anything is built.
import type { Options } from 'yargs';
import { parseCacheRef } from '../cache/remote/cache-ref.js';
import type { CacheMode, RemoteCacheSettings } from '../cache/remote/caching-store.js';
import { FailureError } from '../failure.js';

export const REMOTE_CACHE_OPTIONS = {
  'cache-from': { type: 'string', array: true, describe: 'remote cache to look in when a step is not cached locally (repeatable): registry://host[:port]/repo or oci:<dir>' },
  'cache-to': { type: 'string', describe: 'remote cache to push this build\'s cache entries to afterwards' },
  'cache-mode': { choices: ['min', 'max'], default: 'min', describe: "what --cache-to gets: min = the final image's chain and outputs, max = every entry the build used" },
  'cache-required': { type: 'boolean', describe: 'fail the build if a remote cache cannot be reached (default: warn and build locally)' },
  'insecure-registry': { type: 'boolean', describe: 'allow plain HTTP to a registry on loopback' },
  'registry-ca': { type: 'string', array: true, describe: 'extra CA certificate (PEM) to trust for registries' },
} satisfies Record<string, Options>;

export interface RemoteCacheArgs {
  cacheFrom?: string[];
  cacheTo?: string;
  cacheMode?: string;
  cacheRequired?: boolean;
  insecureRegistry?: boolean;
  registryCa?: string[];
}

/** The settings for openCachingStore, or null when no remote cache was named; a bad ref throws a usage failure. */
export function remoteCacheSettings(a: RemoteCacheArgs): RemoteCacheSettings | null {
  const from = a.cacheFrom ?? [];
  for (const ref of [...from, ...(a.cacheTo ? [a.cacheTo] : [])]) {
    const parsed = parseCacheRef(ref);
    if (!parsed.ok) throw new FailureError(parsed.error);
  }
  if (from.length === 0 && !a.cacheTo) {
    if (a.cacheRequired) throw new FailureError({ reason: 'usage', message: '--cache-required needs --cache-from or --cache-to' });
    return null;
  }
  const mode: CacheMode = a.cacheMode === 'max' ? 'max' : 'min';
  return {
    cacheFrom: from,
    cacheTo: a.cacheTo ?? null,
    mode,
    required: a.cacheRequired ?? false,
    insecure: a.insecureRegistry ?? false,
    ...(a.registryCa ? { caFiles: a.registryCa } : {}),
  };
}
