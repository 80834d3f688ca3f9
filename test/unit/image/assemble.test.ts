// assembleImage end to end on a tiny tree with a boot-loader-less layout (the
// bootable layouts are exercised with a real kernel tree in
// test/integration/image-boot.root.test.ts).
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { assembleImage, type ImageOutput } from '../../../src/image/assemble.js';
import { loadLayout, parseLayoutText } from '../../../src/image/layout-load.js';
import { MIB } from '../../../src/image/layout.js';
import { publishFile } from '../../../src/output/publish.js';
import { scratchDir } from '../../support/run-dir.js';

const plainLayout = `
table: gpt
partitions:
  - { name: swap, type: swap, size: 8MiB, filesystem: swap }
  - { name: root, type: linux, size: rest, filesystem: ext4, label: cloudimg-rootfs, mountpoint: / }
`;

async function tinyTree(): Promise<string> {
  const dir = await scratchDir('assemble-tree');
  await mkdir(path.join(dir, 'etc'), { recursive: true });
  await writeFile(path.join(dir, 'etc/os-release'), 'ID=test\n');
  return dir;
}

/** Publishes assembled files into `outputDir` as a build does (src/output/publish.ts). */
async function publishAll(outputs: ImageOutput[], outputDir: string) {
  const published = [];
  for (const o of outputs) {
    const final = path.join(outputDir, path.basename(o.path));
    published.push({ ...o, path: final, sha256: (await publishFile(o.path, final)).sha256 });
  }
  return published;
}

describe('assembleImage', () => {
  it('writes raw and qcow2 outputs with .sha256 files, reproducibly', async () => {
    const layout = parseLayoutText(plainLayout, 'inline');
    if (!layout.ok) throw new Error(JSON.stringify(layout.error));
    const rootDir = await tinyTree();
    const run = async (out: string) => {
      const hookSeen: string[] = [];
      const r = await assembleImage({
        rootDir, layout: layout.value, seed: 'key-abc', sourceDateEpoch: 1700000000, formats: ['raw', 'qcow2'],
        resultDir: await scratchDir('assemble-result'), name: 'img', workDir: await scratchDir('assemble-work'),
        onBlockDevice: async (ctx) => { hookSeen.push(ctx.env.IMAGE_BLOCK_DEVICE!); return { ok: true, value: undefined }; },
      });
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      return { ...r.value, outputs: await publishAll(r.value.outputs, out), hookSeen };
    };
    const outA = await scratchDir('assemble-out');
    const a = await run(outA);
    const b = await run(await scratchDir('assemble-out'));

    expect((await readdir(outA)).sort()).toEqual(['.img.qcow2.placed', '.img.raw.placed', 'img.qcow2', 'img.qcow2.sha256', 'img.raw', 'img.raw.sha256']);
    expect(a.hookSeen).toHaveLength(1);
    const [raw, qcow2] = a.outputs;
    expect(raw).toMatchObject({ format: 'raw', virtualSize: a.layoutUsed.diskSize, size: a.layoutUsed.diskSize });
    expect(qcow2!.format).toBe('qcow2');
    expect(qcow2!.size).toBeLessThan(raw!.size);
    expect(await readFile(`${raw!.path}.sha256`, 'utf8')).toBe(`${raw!.sha256}  img.raw\n`);
    expect((await execa('sha256sum', [raw!.path])).stdout.split(' ')[0]).toBe(raw!.sha256);
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', qcow2!.path])).stdout);
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': raw!.size, 'format-specific': { data: { compat: '1.1' } } });

    // Same inputs, same bytes.
    expect(b.outputs.map((o) => o.sha256)).toEqual(a.outputs.map((o) => o.sha256));

    // The layout as placed: swap at 1 MiB, root after it, fstab inside the root filesystem.
    expect(a.layoutUsed.partitions.map((p) => [p.name, p.start / MIB, p.size / MIB])).toEqual([
      ['swap', 1, 8],
      ['root', 9, a.layoutUsed.diskSize / MIB - 10],
    ]);
    expect(a.layoutUsed.boot).toEqual({ bios: false, efi: false });
    const rootFs = path.join(await scratchDir('assemble-rootfs'), 'root.fs');
    await execa('dd', [`if=${raw!.path}`, `of=${rootFs}`, 'bs=1M', 'skip=9', `count=${a.layoutUsed.diskSize / MIB - 10}`, 'status=none']);
    const fstab = (await execa('debugfs', ['-R', 'cat /etc/fstab', rootFs])).stdout;
    expect(fstab).toMatch(/^LABEL=cloudimg-rootfs \/ ext4 defaults,errors=remount-ro 0 1$/m);
    expect(fstab).toMatch(/^UUID=[0-9a-f-]{36} none swap sw 0 0$/m);
  });

  it('fails before any work for bad options and trees without GRUB', async () => {
    const efi = await loadLayout('efi');
    if (!efi.ok) throw new Error('layout');
    const base = { rootDir: await tinyTree(), layout: efi.value, seed: 's', sourceDateEpoch: 0, formats: ['qcow2' as const], name: 'x', workDir: await scratchDir('assemble-work') };
    const outputDir = await scratchDir('assemble-out');
    const bad = await assembleImage({ ...base, resultDir: outputDir, formats: ['iso' as never] });
    expect(!bad.ok && bad.error).toMatchObject({ reason: 'usage', message: expect.stringMatching(/unknown image format 'iso'/) });
    const small = await assembleImage({ ...base, resultDir: outputDir, imageSize: 100 * MIB });
    expect(!small.ok && small.error.reason).toBe('image-too-small');
    const noKernel = await assembleImage({ ...base, resultDir: outputDir });
    expect(!noKernel.ok && noKernel.error).toMatchObject({ reason: 'tree-missing', what: '/vmlinuz in the root tree' });
    await mkdir(path.join(base.rootDir, 'boot'));
    await writeFile(path.join(base.rootDir, 'vmlinuz'), '');
    await writeFile(path.join(base.rootDir, 'initrd.img'), '');
    const noGrub = await assembleImage({ ...base, resultDir: outputDir });
    expect(!noGrub.ok && noGrub.error).toMatchObject({ reason: 'tree-missing', hint: expect.stringMatching(/grub-pc-bin/) });
    expect(await readdir(outputDir)).toEqual([]);
  });
});
