// Which keys sign and check remote cache entries (docs/cache.md, "Signed
// remote entries"): --cache-sign-key, or IMGFACTORY_CACHE_SIGN_KEY (a file
// name, env:NAME, or the PEM key itself), signs what --cache-to and `cache
// push` send; --cache-trust (repeatable), or IMGFACTORY_CACHE_TRUST (files
// separated by ':'), names the public keys or certificates whose signatures
// --cache-from and `cache pull` accept. Keys are loaded before anything is
// built or sent, so a wrong key fails at once, and never printed.
import type { EntrySigner, EntryTrust } from '../cache/remote/entry-trust.js';
import { unwrap } from '../failure.js';
import { loadPrivateKey, loadVerifyKey } from '../manifest/keys.js';
import { cacheEntrySigner, cacheEntryTrust } from '../manifest/sign.js';
import { keySpecFrom } from './signing-key-arg.js';

export const CACHE_SIGN_KEY_VAR = 'IMGFACTORY_CACHE_SIGN_KEY';
export const CACHE_TRUST_VAR = 'IMGFACTORY_CACHE_TRUST';

/** The signer the flag (or the environment) names, or null. */
export async function cacheSigner(flag: string | undefined): Promise<EntrySigner | null> {
  const spec = keySpecFrom(flag, CACHE_SIGN_KEY_VAR);
  return spec ? unwrap(cacheEntrySigner(unwrap(await loadPrivateKey(spec)))) : null;
}

/** The trusted keys the flags (or the environment) name, or null when none are. */
export async function cacheTrust(flags: string[] | undefined): Promise<EntryTrust | null> {
  const specs = flags && flags.length > 0 ? flags : (process.env[CACHE_TRUST_VAR] ?? '').split(':').filter(Boolean);
  if (specs.length === 0) return null;
  const keys = [];
  for (const spec of specs) keys.push(unwrap(await loadVerifyKey(spec)));
  return cacheEntryTrust(keys);
}
