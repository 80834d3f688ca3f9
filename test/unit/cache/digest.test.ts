import { chmod, mkdir, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { digestTree, isFileDigest, sha256Buffer, sha256File, walkTree } from '../../../src/cache/digest.js';
import { scratchDir } from '../../support/run-dir.js';

async function element(root: string): Promise<string> {
  await mkdir(path.join(root, 'install.d'), { recursive: true });
  await writeFile(path.join(root, 'element-deps'), 'base\n');
  await writeFile(path.join(root, 'install.d', '10-a'), '#!/bin/sh\necho a\n', { mode: 0o755 });
  await writeFile(path.join(root, 'install.d', '20-b'), '#!/bin/sh\necho b\n', { mode: 0o755 });
  await symlink('../element-deps', path.join(root, 'install.d', 'link'));
  return root;
}

describe('sha256', () => {
  it('of a buffer and of a file agree with sha256sum', async () => {
    const dir = await scratchDir('digest');
    const file = path.join(dir, 'f');
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
    await writeFile(file, data);
    const { stdout } = await execa('sha256sum', [file]);
    const want = `sha256:${stdout.split(' ')[0]}`;
    expect(sha256Buffer(data)).toBe(want);
    expect(await sha256File(file)).toBe(want);
    expect(isFileDigest(want)).toBe(true);
    expect(isFileDigest('sha256:xyz')).toBe(false);
  });
});

describe('digestTree', () => {
  it('does not depend on where the tree is, its times or its read/write bits', async () => {
    const a = await element(path.join(await scratchDir('tree'), 'elem'));
    const b = await element(path.join(await scratchDir('tree-elsewhere'), 'deeper', 'other-name'));
    await utimes(path.join(b, 'element-deps'), new Date(0), new Date(0));
    await chmod(path.join(b, 'element-deps'), 0o664);
    expect(await digestTree(a)).toBe(await digestTree(b));
  });

  it('changes when two files swap their contents (keyed by path)', async () => {
    const a = await element(path.join(await scratchDir('tree'), 'e'));
    const before = await digestTree(a);
    await rename(path.join(a, 'install.d', '10-a'), path.join(a, 'install.d', 'tmp'));
    await rename(path.join(a, 'install.d', '20-b'), path.join(a, 'install.d', '10-a'));
    await rename(path.join(a, 'install.d', 'tmp'), path.join(a, 'install.d', '20-b'));
    expect(await digestTree(a)).not.toBe(before);
  });

  it.each([
    ['a rename', (r: string) => rename(path.join(r, 'element-deps'), path.join(r, 'element-dep'))],
    ['an edit', (r: string) => writeFile(path.join(r, 'element-deps'), 'base\nmore\n')],
    ['the exec bit', (r: string) => chmod(path.join(r, 'install.d', '10-a'), 0o644)],
    ['setuid', (r: string) => chmod(path.join(r, 'install.d', '10-a'), 0o4755)],
    ['a symlink target', async (r: string) => {
      await (await import('node:fs/promises')).unlink(path.join(r, 'install.d', 'link'));
      await symlink('../README.md', path.join(r, 'install.d', 'link'));
    }],
    ['an empty directory', (r: string) => mkdir(path.join(r, 'finalise.d'))],
    ['a file moved between directories', async (r: string) => {
      await mkdir(path.join(r, 'post-install.d'));
      await rename(path.join(r, 'install.d', '20-b'), path.join(r, 'post-install.d', '20-b'));
    }],
  ])('changes with %s', async (_what, change) => {
    const root = await element(path.join(await scratchDir('tree'), 'e'));
    const before = await digestTree(root);
    await change(root);
    expect(await digestTree(root)).not.toBe(before);
  });

  it('lists entries in code-unit order with what matters', async () => {
    const root = await element(path.join(await scratchDir('tree'), 'e'));
    await writeFile(path.join(root, 'B'), '');
    const entries = [];
    for await (const e of walkTree(root)) entries.push(e);
    expect(entries.map((e) => e.path)).toEqual(['B', 'element-deps', 'install.d', 'install.d/10-a', 'install.d/20-b', 'install.d/link']);
    expect(entries[3]).toEqual({ path: 'install.d/10-a', type: 'file', exec: true, sha256: sha256Buffer('#!/bin/sh\necho a\n') });
    expect(entries[5]).toEqual({ path: 'install.d/link', type: 'symlink', target: '../element-deps' });
  });

  it('walks names that are not UTF-8, or hold a newline, by their bytes, keeping them apart', async () => {
    const root = await element(path.join(await scratchDir('tree'), 'e'));
    const bad = Buffer.concat([Buffer.from(`${root}/static-`), Buffer.from([0xff]), Buffer.from('x')]);
    const other = Buffer.concat([Buffer.from(`${root}/static-`), Buffer.from([0xfe]), Buffer.from('x')]);
    await writeFile(bad, 'one');
    await writeFile(`${root}/new\nline`, 'two');
    const entries = [];
    for await (const e of walkTree(root)) entries.push(e.path);
    expect(entries).toContain('new\nline');
    expect(entries).toContain(`static-\ufffdx\u0000${Buffer.from('static-').toString('hex')}ff78`);
    const before = await digestTree(root);
    await writeFile(bad, 'changed');
    const changed = await digestTree(root);
    expect(changed).not.toBe(before);
    await writeFile(bad, 'one');
    await rename(bad, other);
    expect(await digestTree(root)).not.toBe(before);
  });
});

