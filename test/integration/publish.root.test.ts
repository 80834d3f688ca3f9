// Publishing to a real Keystone + Glance + Barbican (scripts/test-cloud):
// signed with RSA-PSS and with ECC_SECP384R1 the image goes active and its
// checksums equal the manifest's; a wrong signature is refused by Glance,
// reported (exit 3) and leaves no image behind; bad credentials exit 4
// without echoing the password.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { endpointFor } from '../../src/glance/catalog.js';
import { resolveCloud } from '../../src/glance/cloud-config.js';
import { jsonBody, request } from '../../src/glance/http.js';
import { authenticate, authHeaders } from '../../src/glance/keystone.js';
import { captureOutput } from '../support/capture-output.js';
import { manifestFixture, type ManifestFixture } from '../support/manifest-fixture.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';
import { stopTestCloud, testCloud } from '../support/test-cloud.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = captureOutput();
  const code = await main(argv, out);
  return { code, stdout: out.stdout.join('\n'), stderr: out.stderr.join('\n') };
}

let cloudEnv: Record<string, string>;
const saved: Record<string, string | undefined> = {};

/** Images of the demo project with this name, read straight from Glance. */
async function imagesNamed(name: string): Promise<Record<string, unknown>[]> {
  const c = resolveCloud();
  if (!c.ok) throw new Error(JSON.stringify(c.error));
  const s = await authenticate(c.value);
  if (!s.ok) throw new Error(JSON.stringify(s.error));
  const glance = endpointFor(s.value.catalog, 'image', 'public');
  const res = await request({ method: 'GET', url: `${glance}/v2/images?name=${encodeURIComponent(name)}`, headers: authHeaders(s.value) });
  return jsonBody<{ images: Record<string, unknown>[] }>(res)!.images;
}

async function keys(type: string): Promise<{ key: string; cert: string }> {
  const dir = await scratchDir(`keys-${type}`);
  const r = await cli('keygen', '--out', dir, '--name', 'k', '--type', type);
  expect(r.code, r.stderr).toBe(0);
  return { key: path.join(dir, 'k.key.pem'), cert: path.join(dir, 'k.cert.pem') };
}

async function signedFixture(key: string): Promise<ManifestFixture> {
  const f = await manifestFixture(16);
  expect((await cli('sign', f.manifestFile, '--key', key)).code).toBe(0);
  return f;
}

beforeAll(async () => {
  cloudEnv = await testCloud('demo');
  for (const k of Object.keys(process.env)) if (k.startsWith('OS_')) saved[k] = process.env[k];
  for (const k of Object.keys(process.env)) if (k.startsWith('OS_')) delete process.env[k];
  Object.assign(process.env, cloudEnv);
}, scaled(900_000));

afterAll(async () => {
  for (const k of Object.keys(process.env)) if (k.startsWith('OS_')) delete process.env[k];
  for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  await stopTestCloud();
});

describe('publish to a real Glance', () => {
  for (const [type, keyType, hash] of [
    ['rsa', 'RSA-PSS', 'SHA-256'],
    ['ec-p384', 'ECC_SECP384R1', 'SHA-384'],
  ] as const) {
    it(`${keyType}: the image goes active, Glance verified the signature, checksums equal the manifest's`, async () => {
      const k = await keys(type);
      const f = await signedFixture(k.key);
      const name = `imgf-test-${type}-${Date.now()}`;
      const r = await cli('publish', f.manifestFile, '--name', name, '--key', k.key, '--certificate', k.cert, '--property', 'release=2024.1', '--json');
      expect(r.code, r.stderr).toBe(0);
      const out = (JSON.parse(r.stdout) as { clouds: { id: string; status: string; format: string; checksum: string; osHashValue: string; certificateUuid: string }[] }).clouds[0]!;
      const q = f.manifest.outputs.find((o) => o.format === 'qcow2')!;
      expect(out).toMatchObject({ status: 'active', format: 'qcow2', checksum: q.md5, osHashValue: q.sha512 });
      const [img] = await imagesNamed(name);
      expect(img).toMatchObject({
        id: out.id,
        status: 'active',
        disk_format: 'qcow2',
        container_format: 'bare',
        checksum: q.md5,
        os_hash_algo: 'sha512',
        os_hash_value: q.sha512,
        os_distro: 'debian',
        release: '2024.1',
        img_signature_key_type: keyType,
        img_signature_hash_method: hash,
        img_signature_certificate_uuid: out.certificateUuid,
      });
      expect(r.stderr).not.toContain(cloudEnv.OS_PASSWORD!);
      expect((await cli('publish', f.manifestFile, '--name', `${name}-raw`, '--format', 'raw', '--json')).code).toBe(0);
      expect((await imagesNamed(`${name}-raw`))[0]).toMatchObject({ disk_format: 'raw', status: 'active' });
    });
  }

  it('a wrong signature: Glance refuses, imgfactory says so (exit 3) and leaves no image behind', async () => {
    const good = await keys('rsa');
    const other = await keys('rsa');
    const f = await signedFixture(good.key);
    const name = `imgf-test-wrong-${Date.now()}`;
    // The image data is signed with `other`, but the certificate given is `good`'s.
    const r = await cli('publish', f.manifestFile, '--name', name, '--key', other.key, '--certificate', good.cert, '--verify-key', good.cert);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/Glance rejected the image signature of [0-9a-f-]{36}: .*[Ss]ignature/);
    expect(r.stderr).toContain('the image was deleted');
    expect(await imagesNamed(name)).toEqual([]);
  });

  it('a tampered output is caught before anything is uploaded (exit 3)', async () => {
    const k = await keys('ec-p384');
    const f = await signedFixture(k.key);
    const b = Buffer.alloc(1, 0x55);
    const { open } = await import('node:fs/promises');
    const h = await open(f.qcow2, 'r+');
    await h.write(b, 0, 1, 100);
    await h.close();
    const name = `imgf-test-tampered-${Date.now()}`;
    const r = await cli('publish', f.manifestFile, '--name', name, '--key', k.key, '--certificate', k.cert);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/tiny\.qcow2: size is|tiny\.qcow2: sha256 is/);
    expect(await imagesNamed(name)).toEqual([]);
  });

  it('bad credentials: exit 4, a clear message, no password in it', async () => {
    const f = await manifestFixture(8);
    const real = process.env.OS_PASSWORD;
    process.env.OS_PASSWORD = 'not-the-password-42';
    try {
      const r = await cli('publish', f.manifestFile);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/authenticating to Keystone \(HTTP 401\): the credentials of OS_\* variables were refused/);
      expect(r.stderr).not.toContain('not-the-password-42');
    } finally {
      process.env.OS_PASSWORD = real;
    }
  });

  it('a certificate without --key is refused (exit 2): no image, no certificate stored in Barbican', async () => {
    const k = await keys('rsa');
    const image = `nokey-${Date.now()}`;
    const f = await manifestFixture(1, { image });
    const name = `imgf-test-nokey-${Date.now()}`;
    const r = await cli('publish', f.manifestFile, '--name', name, '--certificate', k.cert);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--certificate ${k.cert} without --key: signing for Glance needs both, so nothing was published and nothing was created in the cloud`);
    expect(await imagesNamed(name)).toEqual([]);
    const c = resolveCloud();
    const s = await authenticate(c.ok ? c.value : (null as never));
    const barbican = endpointFor(s.ok ? s.value.catalog : [], 'key-manager', 'public');
    const res = await request({ method: 'GET', url: `${barbican}/v1/secrets?name=${encodeURIComponent(`imgfactory ${image} certificate`)}`, headers: authHeaders(s.ok ? s.value : (null as never)) });
    expect(jsonBody<{ total: number }>(res)!.total).toBe(0);
  });

  it('a P-256 key is refused before anything is created (exit 2)', async () => {
    const f = await manifestFixture(8);
    const { generateKeyPairSync } = await import('node:crypto');
    const { writeFile } = await import('node:fs/promises');
    const p256 = path.join(f.dir, 'p256.pem');
    await writeFile(p256, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const k = await keys('rsa');
    const name = `imgf-test-p256-${Date.now()}`;
    const r = await cli('publish', f.manifestFile, '--name', name, '--key', p256, '--certificate', k.cert);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is an EC P-256 key, which Glance refuses/)
    expect(r.stderr).not.toMatch(/stored the certificate/);
    expect(await imagesNamed(name)).toEqual([]);
  });
});
