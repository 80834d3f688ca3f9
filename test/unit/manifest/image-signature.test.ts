import { constants, createVerify, generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { signImageFile } from '../../../src/manifest/image-signature.js';
import { scratchDir } from '../../support/run-dir.js';

async function dataFile(): Promise<string> {
  const f = path.join(await scratchDir('imgsig'), 'disk.raw');
  await writeFile(f, Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  return f;
}

describe('signImageFile (Glance img_signature)', () => {
  it('signs RSA as RSA-PSS with MGF1 of the same hash and the maximum salt length', async () => {
    const file = await dataFile();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const r = await signImageFile(file, privateKey, 'SHA-384');
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.value.img_signature_key_type).toBe('RSA-PSS');
    expect(r.value.img_signature_hash_method).toBe('SHA-384');
    expect(r.value.img_signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const sig = Buffer.from(r.value.img_signature, 'base64');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const maxSalt = 256 - 48 - 2; // emLen - hLen - 2
    const check = (saltLength: number): boolean => createVerify('sha384').update(data).verify({ key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    expect(check(maxSalt)).toBe(true);
    expect(check(48)).toBe(false); // a digest-length salt is not what was made
  });

  it('signs P-384 and P-521 as DER ECDSA with their default hashes', async () => {
    const file = await dataFile();
    for (const [curve, type, hash] of [
      ['secp384r1', 'ECC_SECP384R1', 'SHA-384'],
      ['secp521r1', 'ECC_SECP521R1', 'SHA-512'],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const r = await signImageFile(file, privateKey);
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      expect(r.value).toMatchObject({ img_signature_key_type: type, img_signature_hash_method: hash });
      const sig = Buffer.from(r.value.img_signature, 'base64');
      expect(sig[0]).toBe(0x30); // a DER SEQUENCE, not raw r||s
      expect(createVerify(hash.replace('-', '').toLowerCase()).update(Buffer.alloc(3 * 1024 * 1024 + 17, 7)).verify({ key: publicKey, dsaEncoding: 'der' }, sig)).toBe(true);
    }
  });

  it('refuses P-256 and Ed25519 keys, which Glance does not accept', async () => {
    const file = await dataFile();
    const p256 = await signImageFile(file, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    expect(!p256.ok && p256.error.reason === 'bad-key' && p256.error.message).toMatch(/P-256/);
    const ed = await signImageFile(file, generateKeyPairSync('ed25519').privateKey);
    expect(ed.ok).toBe(false);
  });
});
