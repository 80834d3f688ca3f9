// A manifest, a passing test addendum and keys for the tests of the
// `publish --require-test` gate (src/manifest/test-addendum.ts): no build,
// no boot.
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unwrap } from '../../src/failure.js';
import { buildManifest } from '../../src/manifest/build-manifest.js';
import { manifestBytes } from '../../src/manifest/canonical.js';
import type { Manifest, ManifestOutput } from '../../src/manifest/manifest.js';
import { manifestDigest, type TestAddendum } from '../../src/manifest/test-addendum.js';

/** A manifest whose output need not exist: the gate reads the manifest and the addendum only. */
export function smallManifest(image: string, output?: Pick<ManifestOutput, 'size' | 'sha256' | 'sha512' | 'md5'>): Manifest {
  const hex = (c: string, n: number): string => c.repeat(n);
  return unwrap(
    buildManifest({
      image,
      outputs: [{ name: `${image}.qcow2`, format: 'qcow2', virtualSize: 1 << 30, ...(output ?? { size: 10, sha256: hex('1', 64), sha512: hex('2', 128), md5: hex('3', 32) }) } as ManifestOutput],
      elements: [{ name: 'base', digest: `sha256:${hex('4', 64)}`, origin: '/e/base' }],
      layerKeys: [`sha256:${hex('5', 64)}`],
      distro: { name: 'debian', release: 'bookworm', arch: 'amd64' },
      packages: [],
      toolVersion: '0.1.0',
      sourceDateEpoch: 1700000000,
      inputs: {},
      layout: { name: 'efi-secureboot', firmware: 'uefi-secure-boot' },
    }),
  );
}

export function passingAddendum(m: Manifest, name: string): TestAddendum {
  return {
    v: 'imgfactory.test.v1',
    manifest: { name, sha256: manifestDigest(manifestBytes(m)) },
    image: { name: m.outputs[0]!.name, format: 'qcow2', sha256: m.outputs[0]!.sha256 },
    result: 'pass',
    firmware: 'secure-boot',
    accel: 'tcg',
    seconds: 40,
    timeoutSeconds: 300,
    expect: 'a login prompt',
    qemu: 'QEMU emulator version 7.2.22',
    userData: false,
    finishedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** An Ed25519 signing key, its public key, and another private key, as PEM files in `dir`. */
export async function keyFiles(dir: string): Promise<{ signKey: string; verifyKey: string; otherKey: string }> {
  const pair = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const files = { signKey: path.join(dir, 'sign.pem'), verifyKey: path.join(dir, 'verify.pem'), otherKey: path.join(dir, 'other.pem') };
  await writeFile(files.signKey, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(files.verifyKey, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(files.otherKey, other.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return files;
}
