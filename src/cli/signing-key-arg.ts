// Which key `imgfactory build` signs the manifest with: --sign-key, else
// IMGFACTORY_SIGN_KEY (a file name, env:NAME, or the PEM key itself, as a CI
// secret is usually handed over), else the local key (made on first use, see
// manifest/local-key.ts); none with --no-sign. The key is loaded before the
// build starts, so a wrong key fails in a second, not after the build.
import { FailureError, unwrap } from '../failure.js';
import { isKeyMaterial, keySource, loadPrivateKey } from '../manifest/keys.js';
import { ensureLocalKey } from '../manifest/local-key.js';
import { keyId } from '../manifest/sign.js';

/** The environment variable a CI hands the release key in. */
const SIGN_KEY_VAR = 'IMGFACTORY_SIGN_KEY';

export interface SigningKey {
  spec: string;
  /** For messages: `the local key <path>`, `file <path>`, `environment variable NAME`. */
  label: string;
  keyId: string;
}

export async function signingKeyFor(a: { sign: boolean; signKey?: string }, note: (message: string) => void): Promise<SigningKey | null> {
  if (!a.sign) {
    if (a.signKey) throw new FailureError({ reason: 'usage', message: '--sign-key and --no-sign contradict each other', hint: 'drop one of them' });
    return null;
  }
  const given = keySpecFrom(a.signKey, SIGN_KEY_VAR);
  let spec: string;
  let label: string;
  if (given) {
    spec = given;
    label = keySource(given);
  } else {
    const local = unwrap(await ensureLocalKey());
    if (local.created) note(`made this machine's local signing key ${local.privateKey}; manifests are signed with it unless --sign-key names a release key`);
    spec = local.privateKey;
    label = `the local key ${local.privateKey}`;
  }
  const key = unwrap(await loadPrivateKey(spec));
  return { spec, label, keyId: keyId(key) };
}

/**
 * The key spec a flag gives, else the one in environment variable `name`:
 * a file name, env:NAME, or the PEM key itself, which is then read from the
 * variable (env:<name>), never taken for a file name.
 */
export function keySpecFrom(flag: string | undefined, name: string): string | undefined {
  const fromEnv = process.env[name];
  return flag ?? (fromEnv && isKeyMaterial(fromEnv) ? `env:${name}` : fromEnv || undefined);
}
