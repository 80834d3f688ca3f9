import { lstat, mkdir, readFile, readlink, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureHooksWrites, listHooks, syncHooksFromTree } from '../../../src/steps/hooks-writes.js';
import { scratchDir } from '../../support/run-dir.js';

/** A hooks tree with one hook and one static file, a tree with a sticky /tmp, an empty upper dir. */
async function setup(): Promise<{ hooks: string; tree: string; upper: string }> {
  const dir = await scratchDir('hooks-writes');
  const hooks = path.join(dir, 'hooks');
  const tree = path.join(dir, 'tree');
  const upper = path.join(dir, 'upper');
  await mkdir(path.join(hooks, 'install.d'), { recursive: true });
  await writeFile(path.join(hooks, 'install.d', '50-use'), '#!/bin/bash\n');
  await writeFile(path.join(hooks, 'static-file'), 'static\n');
  await mkdir(path.join(tree, 'tmp'), { recursive: true });
  await chmod(path.join(tree, 'tmp'), 0o1777);
  await mkdir(upper);
  return { hooks, tree, upper };
}

describe('what an outside hook writes into the hooks tree', () => {
  it('is carried in the upper dir under tmp/in_target.d, with /tmp keeping the mode the tree has', async () => {
    const { hooks, tree, upper } = await setup();
    const before = await listHooks(hooks);
    await writeFile(path.join(hooks, 'devuser-ssh-authorized-keys'), 'ssh-ed25519 AAAA test\n');
    await writeFile(path.join(hooks, 'install.d', '50-use'), '#!/bin/bash\necho changed\n');
    await mkdir(path.join(hooks, 'new', 'deeper'), { recursive: true });
    await writeFile(path.join(hooks, 'new', 'deeper', 'file'), 'x');
    await symlink('../static-file', path.join(hooks, 'new', 'link'));
    await rm(path.join(hooks, 'static-file'));

    const { carried, removed } = await captureHooksWrites(hooks, before, upper, tree);
    expect(carried).toEqual(['devuser-ssh-authorized-keys', 'install.d/50-use', 'new', 'new/deeper', 'new/deeper/file', 'new/link']);
    expect(removed).toEqual(['static-file']);
    const held = path.join(upper, 'tmp', 'in_target.d');
    expect(await readFile(path.join(held, 'devuser-ssh-authorized-keys'), 'utf8')).toBe('ssh-ed25519 AAAA test\n');
    expect(await readFile(path.join(held, 'install.d', '50-use'), 'utf8')).toContain('changed');
    expect(await readlink(path.join(held, 'new', 'link'))).toBe('../static-file');
    expect((await lstat(path.join(upper, 'tmp'))).mode & 0o7777).toBe(0o1777);
  });

  it('leaves the upper dir alone when the hooks tree was not written', async () => {
    const { hooks, tree, upper } = await setup();
    const before = await listHooks(hooks);
    expect(await captureHooksWrites(hooks, before, upper, tree)).toEqual({ carried: [], removed: [] });
    await expect(lstat(path.join(upper, 'tmp'))).rejects.toThrow();
  });

  it('comes back into the hooks tree from the tree (a cached layer)', async () => {
    const { hooks, tree } = await setup();
    await syncHooksFromTree(tree, hooks); // nothing held: nothing happens
    await mkdir(path.join(tree, 'tmp', 'in_target.d', 'install.d'), { recursive: true });
    await writeFile(path.join(tree, 'tmp', 'in_target.d', 'mirror_info.sh'), 'export X=1\n');
    await writeFile(path.join(tree, 'tmp', 'in_target.d', 'install.d', '50-use'), '#!/bin/bash\necho changed\n');
    await syncHooksFromTree(tree, hooks);
    expect(await readFile(path.join(hooks, 'mirror_info.sh'), 'utf8')).toBe('export X=1\n');
    expect(await readFile(path.join(hooks, 'install.d', '50-use'), 'utf8')).toContain('changed');
    expect(await readFile(path.join(hooks, 'static-file'), 'utf8')).toBe('static\n');
  });

  it('replaces a link in the hooks tree instead of writing through it (an element or another runner\'s layer may have put it there)', async () => {
    const { hooks, tree } = await setup();
    const outside = path.join(path.dirname(hooks), 'host-file');
    await writeFile(outside, 'host\n');
    await symlink(outside, path.join(hooks, 'install.d', '60-link'));
    await mkdir(path.join(tree, 'tmp', 'in_target.d', 'install.d'), { recursive: true });
    await writeFile(path.join(tree, 'tmp', 'in_target.d', 'install.d', '60-link'), 'from the layer\n');
    await syncHooksFromTree(tree, hooks);
    expect(await readFile(outside, 'utf8')).toBe('host\n');
    expect((await lstat(path.join(hooks, 'install.d', '60-link'))).isFile()).toBe(true);
    expect(await readFile(path.join(hooks, 'install.d', '60-link'), 'utf8')).toBe('from the layer\n');
  });
});
