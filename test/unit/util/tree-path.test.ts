import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInTree } from '../../../src/util/tree-path.js';

describe('resolveInTree', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tree-path-'));
    await mkdir(path.join(root, 'etc'));
    await mkdir(path.join(root, 'run'));
    await writeFile(path.join(root, 'etc/hosts'), '');
    await symlink('/run/resolv.conf', path.join(root, 'etc/resolv.conf')); // absolute: relative to the tree
    await symlink('../../../../../etc', path.join(root, 'run/up')); // climbs above the root: stays at the root
    await symlink('/run', path.join(root, 'var-run'));
    await symlink('loop', path.join(root, 'loop'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('finds files and directories', async () => {
    expect(await resolveInTree(root, '/etc/hosts', false)).toEqual({ rel: 'etc/hosts', type: 'file' });
    expect(await resolveInTree(root, '/etc/', true)).toEqual({ rel: 'etc', type: 'dir' });
    expect(await resolveInTree(root, '/', true)).toEqual({ rel: '', type: 'dir' });
  });

  it('keeps a final symlink unless asked to follow it', async () => {
    expect(await resolveInTree(root, '/etc/resolv.conf', false)).toEqual({ rel: 'etc/resolv.conf', type: 'symlink' });
    expect(await resolveInTree(root, '/etc/resolv.conf', true)).toEqual({ rel: 'run/resolv.conf', type: 'missing' });
  });

  it('resolves symlinked parents inside the tree, never above its root', async () => {
    expect(await resolveInTree(root, '/var-run/x/y', true)).toEqual({ rel: 'run/x/y', type: 'missing' });
    expect(await resolveInTree(root, '/run/up/hosts', true)).toEqual({ rel: 'etc/hosts', type: 'file' });
    expect(await resolveInTree(root, '/../../etc/hosts', true)).toEqual({ rel: 'etc/hosts', type: 'file' });
  });

  it('gives up on symlink loops', async () => {
    expect((await resolveInTree(root, '/loop', true)).type).toBe('other');
  });
});
