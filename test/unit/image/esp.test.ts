import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { makeVfat } from '../../../src/image/esp.js';
import { MIB } from '../../../src/image/layout.js';
import { scratchDir } from '../../support/run-dir.js';

async function build(src: string) {
  const work = await scratchDir('esp');
  const file = path.join(work, 'esp.fs');
  const r = await makeVfat({
    file,
    bytes: 64 * MIB,
    label: 'esp',
    volumeId: '1234abcd',
    files: { 'EFI/BOOT/BOOTX64.EFI': src },
    sourceDateEpoch: 1700000000,
    stageDir: path.join(work, 'stage'),
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return file;
}

describe('makeVfat', () => {
  it('makes a FAT32 ESP holding the loader, with fixed id, label and times', async () => {
    const src = path.join(await scratchDir('esp-src'), 'loader.efi');
    await writeFile(src, 'MZ fake loader');
    const a = await build(src);
    await new Promise((r) => setTimeout(r, 2100)); // FAT times have 2 s resolution: make "now" differ
    const b = await build(src);
    const blkid = (await execa('blkid', ['-o', 'export', a])).stdout;
    expect(blkid).toMatch(/TYPE=vfat/);
    expect(blkid).toMatch(/UUID=1234-ABCD/);
    expect(blkid).toMatch(/LABEL=ESP/);
    expect((await execa('mtype', ['-i', a, '::/EFI/BOOT/BOOTX64.EFI'])).stdout).toBe('MZ fake loader');
    expect((await execa('mdir', ['-i', a, '::/EFI/BOOT'])).stdout).toMatch(/2023-11-14/);
    const sum = async (f: string) => (await execa('sha256sum', [f])).stdout.split(' ')[0];
    expect(await sum(a)).toBe(await sum(b));
  });
});
