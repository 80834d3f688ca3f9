import { createHash } from 'node:crypto';
import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertImage, imageInfo, REPRODUCIBLE, type ImageFormat } from '../../../src/image/qemu-img.js';
import { MIB } from '../../../src/image/layout.js';
import { hexOf, sha256File } from '../../../src/cache/digest.js';
import { publishOutput, tempOutputPath } from '../../../src/image/outputs.js';
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
    const r = await convertImage(raw, out, format, true);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const info = await imageInfo(out, format);
    expect(info.ok && info.value).toMatchObject({ format, virtualSize: 16 * MIB });
  });

  it('compresses qcow2 only when asked, and the result is reproducible', async () => {
    const raw = await rawDisk();
    const sizes: number[] = [];
    const sums: string[] = [];
    for (const [i, compress] of [true, true, false].entries()) {
      const out = `${raw}.${i}.qcow2`;
      const r = await convertImage(raw, out, 'qcow2', compress);
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      const info = await imageInfo(out);
      sizes.push(info.ok ? info.value.actualSize : -1);
      sums.push(hexOf(await sha256File(out)));
    }
    expect(sums[0]).toBe(sums[1]);
    expect(sizes[0]).toBeLessThan(sizes[2]!);
    expect(REPRODUCIBLE.qcow2).toBe(true);
  });

  it('reports a failing conversion as a value', async () => {
    const r = await convertImage('/nonexistent/disk.raw', '/tmp/never.qcow2', 'qcow2', true);
    expect(!r.ok && r.error).toMatchObject({ reason: 'tool-failed', tool: 'qemu-img' });
  });

  it('publishes by rename with a sha256sum-style checksum file', async () => {
    const dir = await scratchDir('publish');
    const final = path.join(dir, 'x.raw');
    const tmp = tempOutputPath(final);
    expect(path.basename(tmp)).toMatch(/^\.x\.raw\.\d+\.tmp$/);
    await writeFile(tmp, 'abc');
    const r = await publishOutput(tmp, final);
    expect(r).toEqual({
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      sha512: createHash('sha512').update('abc').digest('hex'),
      md5: '900150983cd24fb0d6963f7d28e17f72',
      size: 3,
    });
    const { readFile, readdir } = await import('node:fs/promises');
    expect(await readFile(`${final}.sha256`, 'utf8')).toBe(`${r.sha256}  x.raw\n`);
    expect((await readdir(dir)).sort()).toEqual(['.x.raw.placed', 'x.raw', 'x.raw.sha256']);
  });
});
