// The manifest's detached signature, `<manifest>.sig`: a small canonical
// JSON document holding the algorithm, the signing key's id (sha256 of its
// public key, SPKI DER) and the base64 signature over the manifest's
// canonical bytes (canonical.ts):
//
//   {"algorithm":"rsa-pss-sha256","keyId":"<64 hex>","signature":"<base64>","v":"imgfactory.sig.v1"}
//
// The algorithm follows from the key: RSA -> RSA-PSS/SHA-256 (MGF1 SHA-256,
// maximum salt), P-256/P-384/P-521 -> ECDSA with SHA-256/384/512 (DER),
// Ed25519 -> Ed25519.
//
// Remote cache entries are signed the same way (over their descriptor's
// bytes): `cacheEntrySigner` and `cacheEntryTrust` are the ports the cache
// takes them through (cache/remote/entry-trust.ts).
import { constants, createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { canonicalJson } from '../cache/canonical-json.js';
import type { EntrySignature, EntrySigner, EntryTrust } from '../cache/remote/entry-trust.js';
import { fail, ok, unwrap, type Result } from '../failure.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { keyKind, loadPrivateKey } from './keys.js';
import { signatureFileName } from './manifest.js';
import { readManifest } from './read.js';

export const SIGNATURE_VERSION = 'imgfactory.sig.v1';
export type SignatureAlgorithm = 'rsa-pss-sha256' | 'ecdsa-sha256' | 'ecdsa-sha384' | 'ecdsa-sha512' | 'ed25519';

export interface DetachedSignature {
  v: typeof SIGNATURE_VERSION;
  algorithm: SignatureAlgorithm;
  keyId: string;
  signature: string;
}

/** sha256 (hex) of the public key's SPKI DER: names a key without showing it. */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

function algorithmFor(key: KeyObject): SignatureAlgorithm | null {
  switch (keyKind(key)) {
    case 'rsa':
      return 'rsa-pss-sha256';
    case 'ec-p256':
      return 'ecdsa-sha256';
    case 'ec-p384':
      return 'ecdsa-sha384';
    case 'ec-p521':
      return 'ecdsa-sha512';
    case 'ed25519':
      return 'ed25519';
    default:
      return null;
  }
}

function params(alg: SignatureAlgorithm): { hash: string | null; opts: object } {
  switch (alg) {
    case 'rsa-pss-sha256':
      return { hash: 'sha256', opts: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN } };
    case 'ecdsa-sha256':
      return { hash: 'sha256', opts: { dsaEncoding: 'der' } };
    case 'ecdsa-sha384':
      return { hash: 'sha384', opts: { dsaEncoding: 'der' } };
    case 'ecdsa-sha512':
      return { hash: 'sha512', opts: { dsaEncoding: 'der' } };
    case 'ed25519':
      return { hash: null, opts: {} };
  }
}

export function signBytes(data: Buffer, key: KeyObject): Result<DetachedSignature> {
  const algorithm = algorithmFor(key);
  if (!algorithm) return fail({ reason: 'bad-key', what: 'signing key', message: `${key.asymmetricKeyType} keys are not supported`, hint: 'use an RSA, EC P-384/P-521 or Ed25519 key (`imgfactory keygen`)' });
  const p = params(algorithm);
  const sig = cryptoSign(p.hash, data, { key, ...p.opts });
  return ok({ v: SIGNATURE_VERSION, algorithm, keyId: keyId(key), signature: sig.toString('base64') });
}

/** Null when the signature holds; otherwise what is wrong, in words. `what` names what was signed. */
export function checkSignature(data: Buffer, sig: DetachedSignature, key: KeyObject, what = 'the manifest'): string | null {
  const expected = algorithmFor(key);
  if (sig.keyId !== keyId(key)) return `signed by key ${sig.keyId.slice(0, 16)}..., not by the given key ${keyId(key).slice(0, 16)}...`;
  if (sig.algorithm !== expected) return `signature algorithm ${sig.algorithm} does not fit the given ${keyKind(key)} key`;
  const p = params(sig.algorithm);
  let good: boolean;
  try {
    good = cryptoVerify(p.hash, data, { key, ...p.opts } as never, Buffer.from(sig.signature, 'base64'));
  } catch {
    good = false; // a signature of the wrong length or encoding for the key
  }
  return good ? null : `the signature does not match ${what} (${what} or the signature was changed)`;
}

/** Signs cache entries pushed to a remote cache with `key`; a failure if the key cannot sign. */
export function cacheEntrySigner(key: KeyObject): Result<EntrySigner> {
  const probe = signBytes(Buffer.alloc(0), key);
  if (!probe.ok) return probe;
  return ok({ keyId: probe.value.keyId, sign: (data: Buffer) => unwrap(signBytes(data, key)) });
}

/** Accepts a remote cache entry only when one of `keys` signed it. */
export function cacheEntryTrust(keys: KeyObject[]): EntryTrust {
  const byId = new Map(keys.map((k) => [keyId(k), k]));
  return {
    check(data: Buffer, sig: EntrySignature | undefined): string | null {
      if (!sig) return 'is not signed';
      const key = byId.get(sig.keyId);
      if (!key) return `is signed by key ${sig.keyId.slice(0, 16)}..., which is not among the trusted keys`;
      if (sig.v !== SIGNATURE_VERSION) return `has a signature of an unknown kind (${sig.v})`;
      const wrong = checkSignature(data, sig as DetachedSignature, key, 'the entry');
      return wrong === null ? null : `has a bad signature by key ${sig.keyId.slice(0, 16)}...: ${wrong}`;
    },
  };
}

/** Parses `<manifest>.sig`; a string says what is wrong with it. */
export function parseSignature(text: string): DetachedSignature | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'the signature file is not JSON';
  }
  const s = v as Partial<DetachedSignature>;
  if (typeof v !== 'object' || v === null || s.v !== SIGNATURE_VERSION) return `the signature file is not an ${SIGNATURE_VERSION} document`;
  if (typeof s.algorithm !== 'string' || typeof s.keyId !== 'string' || typeof s.signature !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(s.signature)) {
    return 'the signature file lacks algorithm, keyId or a base64 signature';
  }
  return s as DetachedSignature;
}

/** Signs a manifest file (validated first) with the key from `keySpec` (a path or `env:NAME`); writes `<file>.sig`. */
export async function signManifest(file: string, keySpec: string): Promise<Result<{ signatureFile: string; keyId: string }>> {
  const m = await readManifest(file);
  if (!m.ok) return m;
  return writeSignature(m.value.canonical, keySpec, signatureFileName(file));
}

/** Signs `data` with the key from `keySpec` and writes the detached signature to `signatureFile`. */
export async function writeSignature(data: Buffer, keySpec: string, signatureFile: string): Promise<Result<{ signatureFile: string; keyId: string }>> {
  const key = await loadPrivateKey(keySpec);
  if (!key.ok) return key;
  const sig = signBytes(data, key.value);
  if (!sig.ok) return sig;
  await writeFileAtomic(signatureFile, `${canonicalJson(sig.value)}\n`, { mode: 0o644 });
  return ok({ signatureFile, keyId: sig.value.keyId });
}

export async function readSignature(file: string): Promise<DetachedSignature | string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? `no signature file ${file}` : `cannot read ${file}: ${(e as Error).message}`;
  }
  return parseSignature(text);
}
