import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSignature, keyId, parseSignature, signBytes } from '../../../src/manifest/sign.js';

const data = Buffer.from('{"image":"x"}\n');

describe('detached manifest signatures', () => {
  const keys = {
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    p384: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }),
    p521: generateKeyPairSync('ec', { namedCurve: 'secp521r1' }),
    ed25519: generateKeyPairSync('ed25519'),
  };

  for (const [name, pair] of Object.entries(keys)) {
    it(`${name}: signs, verifies, and notices a changed byte`, () => {
      const s = signBytes(data, pair.privateKey);
      if (!s.ok) throw new Error(JSON.stringify(s.error));
      expect(s.value.keyId).toBe(keyId(pair.publicKey));
      expect(checkSignature(data, s.value, pair.publicKey)).toBeNull();
      const changed = Buffer.from(data);
      changed[3] = changed[3]! ^ 1;
      expect(checkSignature(changed, s.value, pair.publicKey)).toMatch(/does not match/);
    });
  }

  it('names a signature made by another key', () => {
    const s = signBytes(data, keys.rsa.privateKey);
    if (!s.ok) throw new Error('sign failed');
    expect(checkSignature(data, s.value, keys.p384.publicKey)).toMatch(/signed by key .* not by the given key/);
  });

  it('reads only well-formed signature files', () => {
    expect(parseSignature('nope')).toMatch(/not JSON/);
    expect(parseSignature('{"v":"other"}')).toMatch(/not an imgfactory.sig.v1/);
    expect(parseSignature('{"v":"imgfactory.sig.v1","algorithm":"ed25519","keyId":"00","signature":"!!"}')).toMatch(/base64/);
  });
});
