import { execa } from 'execa';
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkTree } from '../../../src/cache/digest.js';
import { FailureError } from '../../../src/failure.js';
import type { Element } from '../../../src/elements/element.js';
import { makeHooksTree } from '../../../src/engine/hooks-tree.js';
import { scratchDir } from '../../support/run-dir.js';

const element = (name: string, dir: string): Element => ({ name, dir }) as Element;

describe('makeHooksTree', () => {
  it("merges an element that sits inside another's directory (DIB's <element>/test-elements/<test> on the path), later elements winning", async () => {
    const dir = await scratchDir('hooks-tree');
    const outer = path.join(dir, 'debian-minimal');
    const inner = path.join(outer, 'test-elements', 'stable-vm');
    await mkdir(path.join(inner, 'environment.d'), { recursive: true });
    await mkdir(path.join(outer, 'environment.d'), { recursive: true });
    await writeFile(path.join(outer, 'environment.d', '10-debian-minimal.bash'), 'export DIB_RELEASE=${DIB_RELEASE:-stable}\n');
    await writeFile(path.join(inner, 'environment.d', '10-set-distro.bash'), 'export DIB_RELEASE=stable\n');
    await writeFile(path.join(outer, 'README.rst'), 'outer\n');
    await writeFile(path.join(inner, 'README.rst'), 'inner\n');
    const dest = path.join(dir, 'hooks');
    await makeHooksTree([element('stable-vm', inner), element('debian-minimal', outer)], dest);
    expect(await readFile(path.join(dest, 'environment.d', '10-set-distro.bash'), 'utf8')).toBe('export DIB_RELEASE=stable\n');
    expect(await readFile(path.join(dest, 'environment.d', '10-debian-minimal.bash'), 'utf8')).toContain('DIB_RELEASE');
    expect(await readFile(path.join(dest, 'README.rst'), 'utf8')).toBe('outer\n');
  });

  it('copies as cp -a --no-preserve=ownership does, element after element: modes, times, symlinks unfollowed, later files winning', async () => {
    const dir = await scratchDir('hooks-tree-cp');
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await mkdir(path.join(a, 'install.d'), { recursive: true });
    await mkdir(path.join(b, 'install.d'), { recursive: true });
    await mkdir(path.join(a, 'static', 'etc'), { recursive: true });
    await writeFile(path.join(a, 'install.d', '10-a'), '#!/bin/sh\necho a\n');
    await chmod(path.join(a, 'install.d', '10-a'), 0o750);
    await writeFile(path.join(a, 'static', 'etc', 'motd'), 'from a\n');
    await chmod(path.join(a, 'static'), 0o700);
    await utimes(path.join(a, 'static', 'etc', 'motd'), 1_000_000, 1_000_000);
    await writeFile(path.join(dir, 'outside'), 'not to be written\n');
    // a's link points outside; b ships a file of the same name: the link is replaced, not written through.
    await symlink(path.join(dir, 'outside'), path.join(a, 'install.d', '20-shared'));
    await symlink('../static/etc/motd', path.join(a, 'install.d', 'motd-link'));
    await writeFile(path.join(b, 'install.d', '20-shared'), 'from b\n');
    await chmod(path.join(b, 'install.d', '20-shared'), 0o755);
    await writeFile(path.join(b, 'install.d', '10-\u00e9l\u00e9ment'), 'non-ascii name\n');

    const ours = path.join(dir, 'ours');
    await makeHooksTree([element('a', a), element('b', b)], ours);
    const theirs = path.join(dir, 'theirs');
    await mkdir(theirs);
    for (const e of [a, b]) await execa('cp', ['-a', '--remove-destination', '--no-preserve=ownership', `${e}/.`, theirs]);

    // The helpers and the directories every hooks tree has are not cp's doing.
    const entries = async (root: string): Promise<{ entry: unknown; mtimeMs: number }[]> => {
      const out: { entry: unknown; mtimeMs: number }[] = [];
      for await (const entry of walkTree(root)) if (!entry.path.startsWith('imgfactory') && !['bin', 'environment.d'].includes(entry.path)) out.push({ entry, mtimeMs: (await lstat(path.join(root, entry.path))).mtimeMs });
      return out;
    };
    const [mine, cps] = [await entries(ours), await entries(theirs)];
    expect(mine.map((e) => e.entry)).toEqual(cps.map((e) => e.entry));
    mine.forEach((e, i) => expect(Math.abs(e.mtimeMs - cps[i]!.mtimeMs), JSON.stringify(e.entry)).toBeLessThan(0.01));
    expect(await readFile(path.join(ours, 'install.d', '20-shared'), 'utf8')).toBe('from b\n');
    expect(await readFile(path.join(dir, 'outside'), 'utf8')).toBe('not to be written\n');
    expect(await readlink(path.join(ours, 'install.d', 'motd-link'))).toBe('../static/etc/motd');
    expect((await lstat(path.join(ours, 'static'))).mode & 0o7777).toBe(0o700);
  });

  it('refuses a file where an earlier element has a directory, and a fifo, naming the element and the file', async () => {
    const dir = await scratchDir('hooks-tree-refuse');
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await mkdir(path.join(a, 'static'), { recursive: true });
    await mkdir(b);
    await writeFile(path.join(b, 'static'), 'a file\n');
    const err = await makeHooksTree([element('a', a), element('b', b)], path.join(dir, 'hooks1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).failure).toMatchObject({ reason: 'malformed-element', at: { element: 'b', file: path.join(b, 'static') } });

    const c = path.join(dir, 'c');
    await mkdir(c);
    await execa('mkfifo', [path.join(c, 'pipe')]);
    const fifo = await makeHooksTree([element('c', c)], path.join(dir, 'hooks2')).catch((e: unknown) => e);
    expect((fifo as FailureError).failure).toMatchObject({ reason: 'malformed-element', at: { element: 'c', file: path.join(c, 'pipe') } });
  });

  it('refuses an element shipping imgfactory/ (the helpers\' place) or install.d as a symlink: imgfactory writes there', async () => {
    const dir = await scratchDir('hooks-tree-written');
    const host = path.join(dir, 'host-dir');
    await mkdir(host);
    const a = path.join(dir, 'a');
    await mkdir(a);
    await symlink(host, path.join(a, 'imgfactory'));
    const err = await makeHooksTree([element('a', a)], path.join(dir, 'hooks')).catch((e: unknown) => e);
    expect((err as FailureError).failure).toMatchObject({ reason: 'malformed-element', at: { element: 'a', file: path.join(a, 'imgfactory') } });
    // A real directory of that name, holding a link where a helper goes, is refused too.
    const b = path.join(dir, 'b');
    await mkdir(path.join(b, 'imgfactory'), { recursive: true });
    await symlink(path.join(host, 'run-hook'), path.join(b, 'imgfactory', 'run-hook'));
    const inside = await makeHooksTree([element('b', b)], path.join(dir, 'hooks-b')).catch((e: unknown) => e);
    expect((inside as FailureError).failure).toMatchObject({ reason: 'malformed-element', at: { element: 'b', file: path.join(b, 'imgfactory') } });
    const c = path.join(dir, 'c');
    await mkdir(c);
    await symlink(host, path.join(c, 'install.d'));
    const linked = await makeHooksTree([element('c', c)], path.join(dir, 'hooks-c')).catch((e: unknown) => e);
    expect((linked as FailureError).failure).toMatchObject({ reason: 'malformed-element', at: { element: 'c', file: path.join(c, 'install.d') } });
    expect(await readdir(host)).toEqual([]);
  });
});
