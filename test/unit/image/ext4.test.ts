import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { makeExt4 } from '../../../src/image/ext4.js';
import { MIB } from '../../../src/image/layout.js';
import { uuidFor } from '../../../src/image/seed.js';
import { scratchDir } from '../../support/run-dir.js';

async function tree(): Promise<string> {
  const dir = await scratchDir('ext4-tree');
  await mkdir(path.join(dir, 'etc'));
  await writeFile(path.join(dir, 'etc/fstab'), '# UNCONFIGURED FSTAB\n');
  await writeFile(path.join(dir, 'etc/hostname'), 'box\n');
  await symlink('etc/hostname', path.join(dir, 'name'));
  return dir;
}

async function build(treeDir: string) {
  const work = await scratchDir('ext4-work');
  const file = path.join(work, 'root.fs');
  const r = await makeExt4({
    file,
    bytes: 32 * MIB,
    treeDir,
    label: 'cloudimg-rootfs',
    uuid: uuidFor('s', 'fs'),
    hashSeed: uuidFor('s', 'hash'),
    inodes: 4096,
    sourceDateEpoch: 1700000000,
    dirs: ['/boot/efi'],
    inject: [
      { path: '/etc/fstab', content: 'LABEL=cloudimg-rootfs / ext4 defaults 0 1\n', mode: 0o644 },
      { path: '/boot/grub/grub.cfg', content: 'menuentry x {}\n', mode: 0o600 },
    ],
    workDir: work,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return file;
}

const debugfs = async (file: string, cmd: string) => (await execa('debugfs', ['-R', cmd, file])).stdout;

describe('makeExt4', () => {
  it('populates from the tree, injects files without touching the tree, and is reproducible', async () => {
    const dir = await tree();
    const before = await stat(path.join(dir, 'etc/fstab'));
    const a = await build(dir);
    // Reading the tree changed its atimes; the image must not care.
    const b = await build(dir);
    expect(await readFile(path.join(dir, 'etc/fstab'), 'utf8')).toBe('# UNCONFIGURED FSTAB\n');
    expect((await stat(path.join(dir, 'etc/fstab'))).mtimeMs).toBe(before.mtimeMs);
    await expect(stat(path.join(dir, 'boot'))).rejects.toThrow();

    expect(await debugfs(a, 'cat /etc/fstab')).toBe('LABEL=cloudimg-rootfs / ext4 defaults 0 1');
    expect(await debugfs(a, 'cat /etc/hostname')).toBe('box');
    expect(await debugfs(a, 'cat /boot/grub/grub.cfg')).toBe('menuentry x {}');
    const cfg = await debugfs(a, 'stat /boot/grub/grub.cfg');
    expect(cfg).toMatch(/Mode:\s+0600/);
    expect(cfg).toMatch(/User:\s+0\s+Group:\s+0/);
    expect(cfg).toMatch(/ctime: 0x6553f100/);
    expect(await debugfs(a, 'stat /boot/efi')).toMatch(/Type: directory/);
    const blkid = (await execa('blkid', ['-o', 'export', a])).stdout;
    expect(blkid).toMatch(/LABEL=cloudimg-rootfs/);
    expect(blkid).toContain(`UUID=${uuidFor('s', 'fs')}`);

    const sum = async (f: string) => (await execa('sha256sum', [f])).stdout.split(' ')[0];
    expect(await sum(a)).toBe(await sum(b));
  });
});
