// A small "built image" for manifest, verify and publish tests: a raw and a
// qcow2 disk made with qemu-img (with some non-zero data, so hashes differ),
// and their manifest written beside them. No real build needed.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildManifest, writeManifest, type ManifestInput } from '../../src/manifest/build-manifest.js';
import type { Manifest, ManifestOutput } from '../../src/manifest/manifest.js';
import { describeFile } from '../../src/engine/describe-output.js';
import type { OutputType } from '../../src/output/formats.js';
import { scratchDir } from './run-dir.js';

export interface ManifestFixture {
  dir: string;
  manifestFile: string;
  provenanceFile: string;
  manifest: Manifest;
  raw: string;
  qcow2: string;
}

/** The fixture's disks described as a build describes its outputs (`formats`: which of the two the manifest names). */
async function describeDisks(dir: string, formats: readonly OutputType[] = ['qcow2', 'raw']): Promise<ManifestOutput[]> {
  const outputs: ManifestOutput[] = [];
  for (const [name, format] of ([['tiny.qcow2', 'qcow2'], ['tiny.raw', 'raw']] as [string, OutputType][]).filter(([, f]) => formats.includes(f))) {
    const d = await describeFile(path.join(dir, name), format);
    if (!d.ok) throw new Error(JSON.stringify(d.error));
    const { size, sha256, sha512, md5 } = d.value.hashes;
    outputs.push({ name, format, size, virtualSize: d.value.virtualSize, sha256, sha512, md5 });
  }
  return outputs;
}

export async function fixtureInput(dir: string, over: Partial<ManifestInput> = {}, formats?: readonly OutputType[]): Promise<ManifestInput> {
  return {
    image: 'tiny',
    outputs: await describeDisks(dir, formats),
    elements: [
      { name: 'base', digest: `sha256:${'1'.repeat(64)}`, origin: '/usr/share/imgfactory/elements/base' },
      { name: 'vm', digest: `sha256:${'2'.repeat(64)}`, origin: '/usr/share/imgfactory/elements/vm' },
    ],
    layerKeys: [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`],
    distro: { name: 'debian', release: 'bookworm', arch: 'amd64' },
    packages: [{ name: 'bash', version: '5.2.15-2+b7', arch: 'amd64' }],
    toolVersion: '0.1.0',
    sourceDateEpoch: 1700000000,
    inputs: { DIB_RELEASE: 'bookworm' },
    layout: { name: 'gpt', firmware: 'both' },
    tag: 'v1',
    ...over,
  };
}

/** Makes the disks (raw `sizeMiB` MiB with random data in the first MiB, and its qcow2) and the manifest (naming the `formats` among them). */
export async function manifestFixture(sizeMiB = 8, over: Partial<ManifestInput> = {}, formats?: readonly OutputType[]): Promise<ManifestFixture> {
  const dir = await scratchDir('manifest');
  const raw = path.join(dir, 'tiny.raw');
  const qcow2 = path.join(dir, 'tiny.qcow2');
  await execa('qemu-img', ['create', '-f', 'raw', raw, `${sizeMiB}M`]);
  await writeFile(raw, randomBytes(1024 * 1024), { flag: 'r+' });
  await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
  const m = buildManifest(await fixtureInput(dir, over, formats));
  if (!m.ok) throw new Error(JSON.stringify(m.error));
  const files = await writeManifest(m.value, dir);
  return { dir, manifestFile: files.manifest, provenanceFile: files.provenance, manifest: m.value, raw, qcow2 };
}
