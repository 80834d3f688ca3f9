import { execa } from 'execa';
import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertImage, imageInfo } from '../../../src/image/qemu-img.js';
import { formatOf, type ImageFormat } from '../../../src/output/formats.js';
import { MIB } from '../../../src/image/layout.js';
import { hexOf, sha256File } from '../../../src/cache/digest.js';
import { scratchDir } from '../../support/run-dir.js';

async function rawDisk(): Promise<string> {
  const file = path.join(await scratchDir('qemu-img'), 'disk.raw');
  await writeFile(file, Buffer.alloc(MIB, 0x5a));
  await truncate(file, 16 * MIB);
  return file;
}

describe('qemu-img outputs', () => {
  it.each<Exclude<ImageFormat, 'raw'>>(['qcow2', 'vmdk', 'vpc', 'vhdx'])('converts raw to %s keeping the virtual size', async (format) => {
    const raw = await rawDisk();
    const out = `${raw}.${format}`;
    const r = await convertImage(raw, out, format, 'zstd');
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const info = await imageInfo(out, format);
    expect(info.ok && info.value).toMatchObject({ format, virtualSize: 16 * MIB });
  });

  it('compresses qcow2 only when asked, and the result is reproducible', async () => {
    const raw = await rawDisk();
    const sizes: number[] = [];
    const sums: string[] = [];
    for (const [i, compression] of (['zlib', 'zlib', 'none'] as const).entries()) {
      const out = `${raw}.${i}.qcow2`;
      const r = await convertImage(raw, out, 'qcow2', compression);
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      const info = await imageInfo(out);
      sizes.push(info.ok ? info.value.actualSize : -1);
      sums.push(hexOf(await sha256File(out)));
    }
    expect(sums[0]).toBe(sums[1]);
    expect(sizes[0]).toBeLessThan(sizes[2]!);
    expect(formatOf('qcow2').reproducible).toBe(true);
  });

  it('writes zstd clusters by default and zlib ones when asked, each reproducible', async () => {
    const raw = await rawDisk();
    const made: Record<string, string[]> = {};
    for (const [i, compression] of (['zstd', 'zstd', 'zlib'] as const).entries()) {
      const out = `${raw}.codec-${i}.qcow2`;
      const r = await convertImage(raw, out, 'qcow2', compression);
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', out])).stdout) as { 'format-specific': { data: { 'compression-type': string } } };
      (made[compression] ??= []).push(`${info['format-specific'].data['compression-type']} ${hexOf(await sha256File(out))}`);
    }
    expect(made.zstd![0]).toMatch(/^zstd /);
    expect(made.zstd![1]).toBe(made.zstd![0]);
    expect(made.zlib![0]).toMatch(/^zlib /);
  });

  it('reports a failing conversion as a value', async () => {
    const r = await convertImage('/nonexistent/disk.raw', '/tmp/never.qcow2', 'qcow2', 'zstd');
    expect(!r.ok && r.error).toMatchObject({ reason: 'tool-failed', tool: 'qemu-img' });
  });
});
