import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FailureError } from '../../../src/failure.js';
import { captureHooksWrites, dropHeldHooks, listHooks, syncHooksFromTree } from '../../../src/steps/hooks-writes.js';
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

  it('never follows a link the hook left in the tree where they are carried: refused, or replaced', async () => {
    // $TARGET_ROOT/tmp made a link to a host directory: refused, naming it, and nothing written there.
    const { hooks, tree, upper } = await setup();
    const host = path.join(path.dirname(upper), 'host-dir');
    await mkdir(host);
    await symlink(host, path.join(upper, 'tmp'));
    const before = await listHooks(hooks);
    await writeFile(path.join(hooks, 'mirror_info.sh'), 'export X=1\n');
    const err = await captureHooksWrites(hooks, before, upper, tree).catch((e: unknown) => e);
    expect((err as FailureError).failure).toMatchObject({ reason: 'io', message: expect.stringContaining('left /tmp in the tree as a symlink') });
    expect(await readdir(host)).toEqual([]);

    // A link deeper down, on the way to a carried file: the same.
    const second = await setup();
    const host2 = path.join(path.dirname(second.upper), 'host-dir');
    await mkdir(host2);
    await mkdir(path.join(second.upper, 'tmp', 'in_target.d'), { recursive: true });
    await symlink(host2, path.join(second.upper, 'tmp', 'in_target.d', 'install.d'));
    const before2 = await listHooks(second.hooks);
    await writeFile(path.join(second.hooks, 'install.d', '60-new'), '#!/bin/bash\n');
    const err2 = await captureHooksWrites(second.hooks, before2, second.upper, second.tree).catch((e: unknown) => e);
    expect((err2 as FailureError).failure).toMatchObject({ reason: 'io', message: expect.stringContaining('left /tmp/in_target.d/install.d in the tree as a symlink') });
    expect(await readdir(host2)).toEqual([]);

    // A link where the carried file goes: replaced by the file, its target untouched.
    const third = await setup();
    const hostFile = path.join(path.dirname(third.upper), 'host-file');
    await writeFile(hostFile, 'host\n');
    await mkdir(path.join(third.upper, 'tmp', 'in_target.d'), { recursive: true });
    await symlink(hostFile, path.join(third.upper, 'tmp', 'in_target.d', 'mirror_info.sh'));
    const before3 = await listHooks(third.hooks);
    await writeFile(path.join(third.hooks, 'mirror_info.sh'), 'export X=1\n');
    await captureHooksWrites(third.hooks, before3, third.upper, third.tree);
    expect(await readFile(hostFile, 'utf8')).toBe('host\n');
    expect(await readFile(path.join(third.upper, 'tmp', 'in_target.d', 'mirror_info.sh'), 'utf8')).toBe('export X=1\n');
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

  it("is found through the tree's own links: a tree whose /tmp is an absolute link is read where a hook inside sees it", async () => {
    const { hooks, tree } = await setup();
    await rm(path.join(tree, 'tmp'), { recursive: true });
    await mkdir(path.join(tree, 'var', 'tmp', 'in_target.d'), { recursive: true });
    await symlink('/var/tmp', path.join(tree, 'tmp'));
    await writeFile(path.join(tree, 'var', 'tmp', 'in_target.d', 'mirror_info.sh'), 'export X=2\n');
    await syncHooksFromTree(tree, hooks);
    expect(await readFile(path.join(hooks, 'mirror_info.sh'), 'utf8')).toBe('export X=2\n');
  });

  it("takes no attribute from the host's files: a tree whose /tmp is an absolute link is not followed from the host", async () => {
    // /tmp in the tree names, from the host, a host directory whose
    // in_target.d has its own mode: neither it nor its presence may reach the layer.
    const { hooks, tree, upper } = await setup();
    const host = path.join(path.dirname(hooks), 'host-tmp');
    await mkdir(path.join(host, 'in_target.d'), { recursive: true });
    await chmod(path.join(host, 'in_target.d'), 0o700);
    await rm(path.join(tree, 'tmp'), { recursive: true });
    await symlink(host, path.join(tree, 'tmp'));
    const before = await listHooks(hooks);
    await writeFile(path.join(hooks, 'written'), 'x');
    await captureHooksWrites(hooks, before, upper, tree);
    expect((await lstat(path.join(upper, 'tmp', 'in_target.d'))).mode & 0o7777).toBe(0o755);
    const second = await setup();
    await rm(path.join(second.tree, 'tmp'), { recursive: true });
    await symlink(host, path.join(second.tree, 'tmp'));
    await dropHeldHooks(second.tree, second.upper);
    expect(await readdir(second.upper)).toEqual([]);
  });
});
