// The manifest of a small real image (a raw and a qcow2 disk, the packages of
// a real Debian tree), keygen/sign/verify through the CLI, and every tamper
// case failing with exit 3 and a message naming what differs.
import { execa } from 'execa';
import { copyFile, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildManifest } from '../../src/manifest/build-manifest.js';
import { installedPackages } from '../../src/manifest/packages.js';
import { readManifest } from '../../src/manifest/read.js';
import { captureOutput } from '../support/capture-output.js';
import { debianTree } from '../support/debian-tree.js';
import { fixtureInput, manifestFixture, type ManifestFixture } from '../support/manifest-fixture.js';
import { scratchDir } from '../support/run-dir.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = captureOutput();
  const code = await main(argv, out);
  return { code, stdout: out.stdout.join('\n'), stderr: out.stderr.join('\n') };
}

async function flipByte(file: string, offset: number): Promise<void> {
  const b = await readFile(file);
  b[offset] = b[offset]! ^ 0x01;
  await writeFile(file, b);
}

let keys: { key: string; pub: string; cert: string };

beforeAll(async () => {
  const dir = await scratchDir('keys');
  const r = await cli('keygen', '--out', dir, '--name', 'rm', '--json');
  expect(r.code, r.stderr).toBe(0);
  keys = { key: path.join(dir, 'rm.key.pem'), pub: path.join(dir, 'rm.pub.pem'), cert: path.join(dir, 'rm.cert.pem') };
});

describe('manifest of a built image', () => {
  let tree: string;
  beforeAll(async () => {
    tree = await debianTree(); // mmdebstrap once per run: longer than one test may take
  });

  it('records outputs with all hashes and virtual size, packages of the real tree, and Glance properties', async () => {
    const pkgs = await installedPackages(tree);
    if (!pkgs.ok) throw new Error(JSON.stringify(pkgs.error));
    const dpkg = await execa('dpkg-query', [`--admindir=${tree}/var/lib/dpkg`, '-W', '-f=${Package} ${Version}\\n', 'bash']);
    const bash = pkgs.value.find((p) => p.name === 'bash');
    expect(`bash ${bash?.version}`).toBe(dpkg.stdout.trim());
    expect(pkgs.value.length).toBeGreaterThan(50);

    const f = await manifestFixture(64, { packages: pkgs.value });
    const m = f.manifest;
    const sha = async (algo: string, file: string): Promise<string> => (await execa(`${algo}sum`, [file])).stdout.split(' ')[0]!;
    const q = m.outputs.find((o) => o.format === 'qcow2')!;
    const raw = m.outputs.find((o) => o.format === 'raw')!;
    expect(q).toEqual({ name: 'tiny.qcow2', format: 'qcow2', size: (await stat(f.qcow2)).size, virtualSize: 64 * 1024 * 1024, sha256: await sha('sha256', f.qcow2), sha512: await sha('sha512', f.qcow2), md5: await sha('md5', f.qcow2) });
    expect(raw.virtualSize).toBe(raw.size);
    expect(m.glance.qcow2).toMatchObject({ disk_format: 'qcow2', container_format: 'bare', min_disk: 1, os_distro: 'debian', os_version: '12', hw_disk_bus: 'virtio' });
    expect(m.glance.qcow2!.hw_firmware_type).toBeUndefined();
    expect(m.packages).toEqual(pkgs.value);
    expect(m).toMatchObject({ image: 'tiny', tag: 'v1', sourceDateEpoch: 1700000000, tool: { name: 'imgfactory' }, layout: { firmware: 'both' } });

    // The file is canonical JSON, and reading it validates and gives the same bytes back.
    const read = await readManifest(f.manifestFile);
    if (!read.ok) throw new Error(JSON.stringify(read.error));
    expect(read.value.raw.equals(read.value.canonical)).toBe(true);
    // Same inputs, same bytes.
    const again = buildManifest(await fixtureInput(f.dir, { packages: pkgs.value }));
    expect(again.ok && JSON.stringify(again.value)).toBe(JSON.stringify(m));

    const prov = JSON.parse(await readFile(f.provenanceFile, 'utf8')) as { _type: string; predicateType: string; subject: { name: string; digest: { sha256: string } }[] };
    expect(prov._type).toBe('https://in-toto.io/Statement/v1');
    expect(prov.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(prov.subject).toContainEqual({ name: 'tiny.qcow2', digest: { sha256: q.sha256, sha512: q.sha512 } });
  });

  it('a UEFI-only layout sets hw_firmware_type', async () => {
    const f = await manifestFixture(8, { layout: { name: 'efi', firmware: 'uefi' } });
    expect(f.manifest.glance.raw!.hw_firmware_type).toBe('uefi');
  });

  it('a damaged manifest is refused naming the field', async () => {
    const f = await manifestFixture(8);
    const text = (await readFile(f.manifestFile, 'utf8')).replace(/"md5":"[0-9a-f]{32}"/, '"md5":"xyz"');
    await writeFile(f.manifestFile, text);
    const r = await cli('verify', f.manifestFile);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/outputs\[0\]\.md5: must be a md5/);
  });
});

describe('keygen, sign, verify', () => {
  let f: ManifestFixture;
  beforeAll(async () => {
    f = await manifestFixture(8);
  });

  it('keygen writes a 0600 private key, a public key and a certificate openssl accepts', async () => {
    expect((await stat(keys.key)).mode & 0o777).toBe(0o600);
    const x = await execa('openssl', ['x509', '-in', keys.cert, '-noout', '-subject', '-pubkey']);
    expect(x.stdout).toContain('imgfactory image signing');
    expect(x.stdout).toContain((await readFile(keys.pub, 'utf8')).trim());
  });

  it('round trip: sign, then verify with the public key, the certificate, or from an environment variable', async () => {
    const s = await cli('sign', f.manifestFile, '--key', keys.key);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).not.toContain('PRIVATE KEY');
    for (const flag of [['--key', keys.pub], ['--cert', keys.cert]]) {
      const v = await cli('verify', f.manifestFile, ...flag, '--json');
      expect(v.code, v.stderr).toBe(0);
      expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, signatureChecked: true, outputs: ['tiny.qcow2', 'tiny.raw'] });
    }
    process.env.IMGF_TEST_KEY = await readFile(keys.key, 'utf8');
    try {
      expect((await cli('sign', f.manifestFile, '--key', 'env:IMGF_TEST_KEY')).code).toBe(0);
      expect((await cli('verify', f.manifestFile, '--cert', keys.cert)).code).toBe(0);
    } finally {
      delete process.env.IMGF_TEST_KEY;
    }
  });

  describe('tampering fails with exit 3 and names what differs', () => {
    async function signed(): Promise<ManifestFixture> {
      const g = await manifestFixture(8);
      expect((await cli('sign', g.manifestFile, '--key', keys.key)).code).toBe(0);
      return g;
    }

    it('one byte of an output', async () => {
      const g = await signed();
      await flipByte(g.raw, 4096);
      const v = await cli('verify', g.manifestFile, '--cert', keys.cert);
      expect(v.code).toBe(3);
      expect(v.stderr).toMatch(/tiny\.raw: sha256 is [0-9a-f]{64}, manifest says/);
      expect(v.stderr).toMatch(/md5 is/);
      expect(v.stderr).not.toMatch(/tiny\.qcow2:/);
    });

    it('one byte of the manifest', async () => {
      const g = await signed();
      const text = await readFile(g.manifestFile, 'utf8');
      await writeFile(g.manifestFile, text.replace('"tag":"v1"', '"tag":"v2"'));
      const v = await cli('verify', g.manifestFile, '--cert', keys.cert);
      expect(v.code).toBe(3);
      expect(v.stderr).toMatch(/signature: the signature does not match the manifest/);
    });

    it('one byte of the signature', async () => {
      const g = await signed();
      const sigFile = `${g.manifestFile}.sig`;
      const sig = JSON.parse(await readFile(sigFile, 'utf8')) as { signature: string };
      const bytes = Buffer.from(sig.signature, 'base64');
      bytes[10] = bytes[10]! ^ 0x01;
      await writeFile(sigFile, JSON.stringify({ ...sig, signature: bytes.toString('base64') }));
      const v = await cli('verify', g.manifestFile, '--key', keys.pub);
      expect(v.code).toBe(3);
      expect(v.stderr).toMatch(/signature: the signature does not match/);
    });

    it('a swapped output', async () => {
      const g = await signed();
      const tmp = path.join(g.dir, 'swap');
      await rename(g.raw, tmp);
      await rename(g.qcow2, g.raw);
      await rename(tmp, g.qcow2);
      const v = await cli('verify', g.manifestFile, '--cert', keys.cert);
      expect(v.code).toBe(3);
      expect(v.stderr).toMatch(/tiny\.qcow2: size is .*its content is that of tiny\.raw: files swapped\?/);
      expect(v.stderr).toMatch(/tiny\.raw: size is .*its content is that of tiny\.qcow2/);
    });

    it('a missing output, a missing signature, and another key', async () => {
      const g = await signed();
      await copyFile(g.raw, `${g.raw}.bak`);
      await execa('rm', [g.raw]);
      const v = await cli('verify', g.manifestFile, '--cert', keys.cert);
      expect(v.code).toBe(3);
      expect(v.stderr).toMatch(/tiny\.raw: missing/);
      await rename(`${g.raw}.bak`, g.raw);
      const other = await scratchDir('otherkey');
      expect((await cli('keygen', '--out', other, '--type', 'ec-p384')).code).toBe(0);
      const w = await cli('verify', g.manifestFile, '--cert', path.join(other, 'imgfactory-signing.cert.pem'));
      expect(w.code).toBe(3);
      expect(w.stderr).toMatch(/signed by key [0-9a-f]{16}\.\.\., not by the given key/);
      await execa('rm', [`${g.manifestFile}.sig`]);
      const n = await cli('verify', g.manifestFile, '--cert', keys.cert);
      expect(n.code).toBe(3);
      expect(n.stderr).toMatch(/no signature file/);
    });
  });
});
