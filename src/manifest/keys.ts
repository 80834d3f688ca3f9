// Loads signing and verification keys. A private key comes from a PEM file
// or, written `env:NAME`, from an environment variable (so CI can keep it in
// a secret); an optional passphrase from IMGFACTORY_KEY_PASSPHRASE. Key
// material is never logged: failures name where the key came from, never
// what it holds. Verification takes a public key, a private key (its public
// half is used) or an X.509 certificate.
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fail, ok, type Result } from '../failure.js';

/** What a key spec names, for messages: `file key.pem` or `environment variable SIGN_KEY`. */
export function keySource(spec: string): string {
  return spec.startsWith('env:') ? `environment variable ${spec.slice(4)}` : `file ${spec}`;
}

async function keyText(spec: string): Promise<Result<Buffer>> {
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
  try {
    const passphrase = process.env.IMGFACTORY_KEY_PASSPHRASE;
    return ok(createPrivateKey({ key: text.value, ...(passphrase ? { passphrase } : {}) }));
  } catch (e) {
    return fail({ reason: 'bad-key', what: keySource(spec), message: `is not a usable private key (${(e as { code?: string }).code ?? 'unreadable'})`, hint: 'give the PEM private key written by `imgfactory keygen`' });
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
