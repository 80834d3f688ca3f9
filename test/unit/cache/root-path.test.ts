// Member names made safe, and chroot-style resolution that never leaves root.
import { mkdir, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDirInRoot, safeArchivePath, UnsafePathError } from '../../../src/cache/root-path.js';
import { scratchDir } from '../../support/run-dir.js';

describe('safeArchivePath', () => {
  it('normalises harmless spellings', () => {
    expect(safeArchivePath('./')).toBe('.');
    expect(safeArchivePath('.')).toBe('.');
    expect(safeArchivePath('./etc/')).toBe('etc');
    expect(safeArchivePath('etc/./passwd')).toBe('etc/passwd');
    expect(safeArchivePath('a..b/..c')).toBe('a..b/..c');
  });
  it('rejects absolute names, dot-dot, NUL and empty components', () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a/..', 'a\0b', 'a//b']) {
      expect(() => safeArchivePath(bad), bad).toThrow(UnsafePathError);
    }
  });
});

describe('resolveDirInRoot', () => {
  it('follows absolute and relative symlinks as a chroot would, never above root', async () => {
    const root = await realpath(await scratchDir('rootpath'));
    await mkdir(path.join(root, 'usr/lib'), { recursive: true });
    await symlink('usr/lib', path.join(root, 'lib'));
    await symlink('/usr/lib', path.join(root, 'abs'));
    await symlink('../../../../../../..', path.join(root, 'up'));
    await symlink('/', path.join(root, 'slash'));
    expect(resolveDirInRoot(root, 'lib', false)).toBe(path.join(root, 'usr/lib'));
    expect(resolveDirInRoot(root, 'abs', false)).toBe(path.join(root, 'usr/lib'));
    expect(resolveDirInRoot(root, 'up', false)).toBe(root);
    expect(resolveDirInRoot(root, 'up/usr', false)).toBe(path.join(root, 'usr'));
    expect(resolveDirInRoot(root, 'slash', false)).toBe(root);
  });
  it('creates missing directories only when asked, and refuses files on the way', async () => {
    const root = await realpath(await scratchDir('rootpath-mk'));
    expect(resolveDirInRoot(root, 'x/y', false)).toBeUndefined();
    expect(resolveDirInRoot(root, 'x/y', true)).toBe(path.join(root, 'x/y'));
    await symlink('loop', path.join(root, 'loop'));
    expect(() => resolveDirInRoot(root, 'loop/a', false)).toThrow(UnsafePathError);
  });
});
