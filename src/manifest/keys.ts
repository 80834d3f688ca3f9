// Loads signing and verification keys. A private key comes from a PEM file
// or, written `env:NAME`, from an environment variable (so CI can keep it in
// a secret); an optional passphrase from IMGFACTORY_KEY_PASSPHRASE. Key
// material is never logged: failures name where the key came from, never
// what it holds, and a spec that is itself key material (a PEM pasted where a
// file name belongs) is refused without being repeated. Verification takes a
// public key, a private key (its public half is used) or an X.509 certificate.
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fail, ok, type Result } from '../failure.js';

/** The environment variable that holds a passphrase for an encrypted private key. */
export const PASSPHRASE_VAR = 'IMGFACTORY_KEY_PASSPHRASE';

/** Whether `spec` is key material rather than a file name or `env:NAME`: such a spec is never printed. */
export function isKeyMaterial(spec: string): boolean {
  return spec.includes('-----BEGIN') || spec.includes('\n');
}

/** What a key spec names, for messages: `file key.pem` or `environment variable SIGN_KEY`; never the key itself. */
export function keySource(spec: string): string {
  if (spec.startsWith('env:')) return `environment variable ${spec.slice(4)}`;
  if (isKeyMaterial(spec)) return 'key material given where a file name belongs (not shown)';
  return `file ${spec}`;
}

async function keyText(spec: string): Promise<Result<Buffer>> {
  if (isKeyMaterial(spec)) {
    return fail({ reason: 'bad-key', what: keySource(spec), message: 'is not a file name', hint: 'put the key in a file and name it, or in an environment variable and give env:NAME' });
  }
  if (spec.startsWith('env:')) {
    const v = process.env[spec.slice(4)];
    if (!v) return fail({ reason: 'bad-key', what: keySource(spec), message: 'is not set or empty' });
    return ok(Buffer.from(v));
  }
  try {
    return ok(await readFile(spec));
  } catch (e) {
    return fail({ reason: 'bad-key', what: keySource(spec), message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (e as Error).message });
  }
}

export async function loadPrivateKey(spec: string): Promise<Result<KeyObject>> {
  const text = await keyText(spec);
  if (!text.ok) return text;
  const passphrase = process.env[PASSPHRASE_VAR];
  try {
    return ok(createPrivateKey({ key: text.value, ...(passphrase ? { passphrase } : {}) }));
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'unreadable';
    if (text.value.includes('ENCRYPTED')) {
      return fail(
        passphrase
          ? { reason: 'bad-key', what: keySource(spec), message: `is encrypted, and the passphrase in ${PASSPHRASE_VAR} does not open it (${code})`, hint: `check ${PASSPHRASE_VAR}` }
          : { reason: 'bad-key', what: keySource(spec), message: `is encrypted and no passphrase was given (${code})`, hint: `set ${PASSPHRASE_VAR} to its passphrase` },
      );
    }
    return fail({ reason: 'bad-key', what: keySource(spec), message: `is not a usable private key (${code})`, hint: 'give the PEM private key written by `imgfactory keygen`' });
  }
}

/** A public key from a public key, private key or certificate PEM. */
export async function loadVerifyKey(spec: string): Promise<Result<KeyObject>> {
  const text = await keyText(spec);
  if (!text.ok) return text;
  const pem = text.value.toString('utf8');
  try {
    if (pem.includes('BEGIN CERTIFICATE')) return ok(new X509Certificate(text.value).publicKey);
    if (pem.includes('PRIVATE KEY')) return ok(createPublicKey(createPrivateKey(text.value)));
    return ok(createPublicKey(text.value));
  } catch (e) {
    return fail({ reason: 'bad-key', what: keySource(spec), message: `is not a public key, private key or certificate (${(e as { code?: string }).code ?? 'unreadable'})` });
  }
}

/** How a key signs: its type and, for EC keys, the curve. */
export type KeyKind = 'rsa' | 'ec-p256' | 'ec-p384' | 'ec-p521' | 'ed25519' | 'other';

export function keyKind(key: KeyObject): KeyKind {
  const t = key.asymmetricKeyType;
  if (t === 'rsa') return 'rsa';
  if (t === 'ed25519') return 'ed25519';
  if (t === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ec-p256';
    if (curve === 'secp384r1') return 'ec-p384';
    if (curve === 'secp521r1') return 'ec-p521';
  }
  return 'other';
}
