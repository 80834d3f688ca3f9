// What publish signs the image data with, checked and loaded before anything
// talks to a cloud. Glance verifies img_signature only when the image carries
// all four signature properties, so signing needs both halves: the private
// key that makes the signature (`--key`) and the certificate Glance checks it
// with (`--certificate`, stored in Barbican, or `--certificate-uuid`, already
// there). Invariant: given either half, publish signs or refuses; it never
// uploads unsigned while holding signing material, and never stores a
// certificate it will not use.
import { readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { fail, ok, type Result } from '../failure.js';
import { glanceKeyType } from '../manifest/image-signature.js';
import { loadPrivateKey } from '../manifest/keys.js';

export interface SigningOptions {
  /** Private key (path or env:NAME). */
  signKey?: string;
  /** Certificate PEM file to store in Barbican. */
  certificate?: string;
  /** A certificate already stored in Barbican. */
  certificateUuid?: string;
}

/** Both halves, loaded: the key and either the PEM to store or the stored secret's UUID. */
export interface SigningMaterial {
  key: KeyObject;
  certificate: { pem: Buffer } | { uuid: string };
}

/** null when no signing material was given at all. */
export async function loadSigningMaterial(o: SigningOptions): Promise<Result<SigningMaterial | null>> {
  const cert = o.certificate ? `--certificate ${o.certificate}` : o.certificateUuid ? `--certificate-uuid ${o.certificateUuid}` : null;
  if (!o.signKey && !cert) return ok(null);
  if (!o.signKey) return fail({ reason: 'signing-incomplete', given: cert!, missing: '--key', hint: 'Glance checks a signature only when the image is signed: pass --key with the private key of that certificate, or drop the certificate to publish unsigned' });
  if (!cert) return fail({ reason: 'signing-incomplete', given: `--key ${o.signKey}`, missing: '--certificate or --certificate-uuid', hint: 'Glance checks img_signature with the certificate: pass --certificate cert.pem (stored in Barbican) or --certificate-uuid of one already there' });
  const key = await loadPrivateKey(o.signKey);
  if (!key.ok) return key;
  const usable = glanceKeyType(key.value); // refuse P-256 and the like before anything is made in the cloud
  if (!usable.ok) return usable;
  if (o.certificateUuid) return ok({ key: key.value, certificate: { uuid: o.certificateUuid } });
  let pem: Buffer;
  try {
    pem = await readFile(o.certificate!);
  } catch (e) {
    return fail({ reason: 'bad-key', what: `certificate ${o.certificate}`, message: (e as Error).message });
  }
  if (!pem.includes('BEGIN CERTIFICATE')) return fail({ reason: 'bad-key', what: `certificate ${o.certificate}`, message: 'is not a PEM X.509 certificate' });
  return ok({ key: key.value, certificate: { pem } });
}
