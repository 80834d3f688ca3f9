// Glance's own image signature (the img_signature* properties that Glance
// checks on upload and Nova on boot), over the exact bytes uploaded, in one
// streaming pass. Facts checked against a real Glance (cursive):
// - RSA-PSS must use MGF1 with the same hash and the maximum salt length
//   (emLen - hLen - 2, RSA_PSS_SALTLEN_MAX_SIGN); digest-length salts fail;
// - ECDSA signatures are DER (r, s), not raw r||s;
// - only SECP384R1 and SECP521R1 curves are accepted (P-256 is refused);
// - img_signature is base64 without line breaks.
import { constants, createSign, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { fail, ok, type Result } from '../failure.js';
import { keyKind } from './keys.js';

export type GlanceHashMethod = 'SHA-224' | 'SHA-256' | 'SHA-384' | 'SHA-512';
export const GLANCE_HASH_METHODS: readonly GlanceHashMethod[] = ['SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'];
export type GlanceKeyType = 'RSA-PSS' | 'ECC_SECP384R1' | 'ECC_SECP521R1';

export interface ImageSignature {
  img_signature: string;
  img_signature_hash_method: GlanceHashMethod;
  img_signature_key_type: GlanceKeyType;
}

/** Glance's key type for a key, or why it cannot sign images for Glance. */
export function glanceKeyType(key: KeyObject): Result<GlanceKeyType> {
  switch (keyKind(key)) {
    case 'rsa':
      return ok('RSA-PSS');
    case 'ec-p384':
      return ok('ECC_SECP384R1');
    case 'ec-p521':
      return ok('ECC_SECP521R1');
    case 'ec-p256':
      return fail({ reason: 'bad-key', what: 'image signing key', message: 'is an EC P-256 key, which Glance refuses', hint: 'use an RSA, P-384 or P-521 key (`imgfactory keygen --type ec-p384`)' });
    default:
      return fail({ reason: 'bad-key', what: 'image signing key', message: `${key.asymmetricKeyType} keys cannot sign images for Glance`, hint: 'use an RSA, P-384 or P-521 key' });
  }
}

/** The hash a key type signs with unless told otherwise. */
export function defaultHashMethod(keyType: GlanceKeyType): GlanceHashMethod {
  return keyType === 'ECC_SECP384R1' ? 'SHA-384' : keyType === 'ECC_SECP521R1' ? 'SHA-512' : 'SHA-256';
}

const NODE_HASH: Record<GlanceHashMethod, string> = { 'SHA-224': 'sha224', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

export async function signImageFile(file: string, key: KeyObject, hashMethod?: GlanceHashMethod): Promise<Result<ImageSignature>> {
  const type = glanceKeyType(key);
  if (!type.ok) return type;
  const method = hashMethod ?? defaultHashMethod(type.value);
  const signer = createSign(NODE_HASH[method]);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) signer.update(chunk);
  } catch (e) {
    return fail({ reason: 'io', what: `reading ${file}`, message: (e as Error).message });
  }
  const sig =
    type.value === 'RSA-PSS'
      ? signer.sign({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN })
      : signer.sign({ key, dsaEncoding: 'der' });
  return ok({ img_signature: sig.toString('base64'), img_signature_hash_method: method, img_signature_key_type: type.value });
}
