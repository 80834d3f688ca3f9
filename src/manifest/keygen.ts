// Makes a signing key set in one directory:
//
//   <dir>/<name>.key.pem    private key, PKCS#8 PEM, mode 0600 (never printed)
//   <dir>/<name>.pub.pem    public key, SPKI PEM
//   <dir>/<name>.cert.pem   self-signed X.509 certificate (for Barbican/Glance)
//
// node:crypto makes the keys but cannot make certificates, so the
// certificate comes from `openssl req -x509` (Debian package openssl),
// which reads the key from its file (already 0600), never from argv.
import { generateKeyPairSync, type KeyPairKeyObjectResult } from 'node:crypto';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { run } from '../process/run.js';

export type KeygenType = 'rsa' | 'rsa-4096' | 'ec-p384' | 'ec-p521' | 'ed25519';
export const KEYGEN_TYPES: readonly KeygenType[] = ['rsa', 'rsa-4096', 'ec-p384', 'ec-p521', 'ed25519'];

export interface KeygenOptions {
  dir: string;
  name: string;
  type: KeygenType;
  /** Certificate subject common name. */
  commonName: string;
  days: number;
  /** Replace existing files. */
  force?: boolean;
}

export interface KeySet {
  privateKey: string;
  publicKey: string;
  certificate: string | null;
}

function generate(type: KeygenType): { privateKey: string; publicKey: string } {
  const pem = (k: KeyPairKeyObjectResult): { privateKey: string; publicKey: string } => ({
    privateKey: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKey: k.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  });
  switch (type) {
    case 'rsa':
      return pem(generateKeyPairSync('rsa', { modulusLength: 3072 }));
    case 'rsa-4096':
      return pem(generateKeyPairSync('rsa', { modulusLength: 4096 }));
    case 'ec-p384':
      return pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }));
    case 'ec-p521':
      return pem(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }));
    case 'ed25519':
      return pem(generateKeyPairSync('ed25519'));
  }
}

export async function keygen(o: KeygenOptions): Promise<Result<KeySet>> {
  const files = {
    privateKey: path.join(o.dir, `${o.name}.key.pem`),
    publicKey: path.join(o.dir, `${o.name}.pub.pem`),
    certificate: path.join(o.dir, `${o.name}.cert.pem`),
  };
  if (!o.force) {
    for (const f of Object.values(files)) {
      if (await access(f).then(() => true, () => false)) return fail({ reason: 'usage', message: `${f} exists already`, hint: 'choose another --name or --out, or pass --force' });
    }
  }
  await mkdir(o.dir, { recursive: true });
  const pair = generate(o.type);
  await writeFile(files.privateKey, pair.privateKey, { mode: 0o600 });
  await chmod(files.privateKey, 0o600); // an existing file keeps its old mode on write
  await writeFile(files.publicKey, pair.publicKey, { mode: 0o644 });
  // Glance verifies Ed25519 signatures not at all, so no certificate is needed; openssl could make one, but it would mislead.
  if (o.type === 'ed25519') return ok({ privateKey: files.privateKey, publicKey: files.publicKey, certificate: null });
  const digest = o.type === 'ec-p521' ? '-sha512' : o.type === 'ec-p384' ? '-sha384' : '-sha256';
  const r = await run('openssl', ['req', '-x509', '-new', '-key', files.privateKey, '-out', files.certificate, '-days', String(o.days), digest, '-subj', `/CN=${o.commonName.replace(/[/\\]/g, '_')}`, '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'basicConstraints=critical,CA:FALSE']);
  if (!r.ok) return r;
  return ok(files);
}
