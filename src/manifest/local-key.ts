// The local signing key: what `imgfactory build` signs manifests with when
// no --sign-key (or IMGFACTORY_SIGN_KEY) is given, so every build leaves a
// signed manifest. It is made on first use:
//
//   <config>/local-key/            mode 0700
//     local-signing.key.pem   private key, mode 0600, never printed
//     local-signing.pub.pem   what `imgfactory verify` checks with by default
//     local-signing.cert.pem  for Glance/Barbican, as `imgfactory keygen` makes
//
// <config> is $IMGFACTORY_CONFIG_DIR, else $XDG_CONFIG_HOME/imgfactory, else
// ~/.config/imgfactory.
//
// It proves that an output is the one this machine's user built, no more;
// release images are signed with a release key (`--sign-key`). It never
// lives in the cache directory, which runners share.
import { access, chmod, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { ok, type Result } from '../failure.js';
import { tempPathFor } from '../util/atomic-write.js';
import { keygen, type KeySet } from './keygen.js';
import { loadVerifyKey } from './keys.js';
import { keyId, readSignature } from './sign.js';

const NAME = 'local-signing';
const DIR = 'local-key';

export function localKeyDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IMGFACTORY_CONFIG_DIR) return env.IMGFACTORY_CONFIG_DIR;
  return path.join(env.XDG_CONFIG_HOME ?? path.join(env.HOME ?? homedir(), '.config'), 'imgfactory');
}

function filesIn(dir: string): KeySet {
  return {
    privateKey: path.join(dir, `${NAME}.key.pem`),
    publicKey: path.join(dir, `${NAME}.pub.pem`),
    certificate: path.join(dir, `${NAME}.cert.pem`),
  };
}

const exists = (f: string): Promise<boolean> => access(f).then(() => true, () => false);

/** The local key's files, or null when it was never made. */
export async function localKey(env: NodeJS.ProcessEnv = process.env): Promise<KeySet | null> {
  const files = filesIn(path.join(localKeyDir(env), DIR));
  return (await exists(files.privateKey)) ? files : null;
}

/**
 * The local key, made now if there is none (`created`). The key set is made
 * in a directory of its own beside the final one and renamed into place, so
 * two builds starting at once end up with one key, both signing with it.
 */
export async function ensureLocalKey(env: NodeJS.ProcessEnv = process.env): Promise<Result<KeySet & { created: boolean }>> {
  const found = await localKey(env);
  if (found) return ok({ ...found, created: false });
  const final = path.join(localKeyDir(env), DIR);
  const temp = tempPathFor(final);
  const made = await keygen({ dir: temp, name: NAME, type: 'rsa', commonName: 'imgfactory local signing key', days: 3650 });
  if (!made.ok) {
    await rm(temp, { recursive: true, force: true });
    return made;
  }
  await chmod(temp, 0o700);
  let created = true;
  try {
    await rename(temp, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    created = false; // another build made it first
    await rm(temp, { recursive: true, force: true });
  }
  return ok({ ...filesIn(final), created });
}

/** The local public key, when it is the key that made `signatureFile`: what `imgfactory verify` checks with when given no key. */
export async function localKeyThatSigned(signatureFile: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const local = await localKey(env);
  if (!local) return null;
  const sig = await readSignature(signatureFile);
  const pub = await loadVerifyKey(local.publicKey);
  return typeof sig !== 'string' && pub.ok && keyId(pub.value) === sig.keyId ? local.publicKey : null;
}
