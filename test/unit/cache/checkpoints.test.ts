// Tree checkpoints share inodes with build trees, so the one thing that must
// never happen is a write through a shared inode: applying a layer to a tree
// restored from a checkpoint (files replaced, removed, re-moded, a directory
// made opaque) must leave the checkpoint exactly as it was.
import { execa } from 'execa';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { hasCheckpoint, listCheckpoints, pruneCheckpoints, removeCheckpoint, restoreCheckpoint, saveCheckpoint, type CheckpointMeta } from '../../../src/cache/checkpoints.js';
import type { FileDigest, LayerKey } from '../../../src/cache/digest.js';
import { applyLayer } from '../../../src/cache/layer-apply.js';
import type { LayerEntry } from '../../../src/cache/layer-entry.js';
import { tarChunks } from '../../../src/cache/tar-writer.js';
import { verify } from '../../../src/cache/verify.js';
import { scratchDir } from '../../support/run-dir.js';

const key = (n: number): LayerKey => `sha256:${String(n).padStart(64, '0')}` as LayerKey;
/** The layer digest a checkpoint of key(n) is bound to. */
const layer = (n: number): FileDigest => `sha256:${String(n).padStart(64, 'f')}` as FileDigest;
const meta = (n: number, image = 'img', step = 's'): CheckpointMeta => ({ key: key(n), layer: layer(n), image, step });
/** Restores the checkpoint of key(n) to `target`: whether it did. */
const restore = async (cache: string, n: number, target: string): Promise<boolean> => (await restoreCheckpoint(cache, key(n), layer(n), target)).restored;
const T = 1_700_000_000_000_000_000n;

async function sampleTree(): Promise<string> {
  const tree = path.join(await scratchDir('cp-tree'), 'tree');
  await mkdir(path.join(tree, 'etc/opaque'), { recursive: true });
  await writeFile(path.join(tree, 'etc/config'), 'original config\n');
  await writeFile(path.join(tree, 'etc/gone'), 'to be whited out\n');
  await writeFile(path.join(tree, 'etc/opaque/inner'), 'hidden by an opaque dir\n');
  await writeFile(path.join(tree, 'etc/moded'), 'mode changes\n', { mode: 0o644 });
  return tree;
}

/** Every path with its type, mode, owner, size, mtime and content hash: what a checkpoint must keep. */
async function describeTree(dir: string): Promise<string> {
  const r = await execa('sh', ['-c', 'cd "$1" && find . -printf "%p %y %m %U:%G %s %T@\\n" | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum', 'sh', dir]);
  return r.stdout;
}

async function layerOver(dir: string): Promise<string> {
  const src = path.join(dir, 'new-config');
  await writeFile(src, 'replaced\n');
  const base = { uid: 0, gid: 0, mtimeNs: T, xattrs: [] };
  const entries: LayerEntry[] = [
    { path: 'etc', kind: 'dir', mode: 0o755, size: 0, ...base },
    { path: 'etc/config', kind: 'file', mode: 0o600, size: 9, source: src, ...base },
    { path: 'etc/.wh.gone', kind: 'whiteout', mode: 0, size: 0, ...base },
    { path: 'etc/moded', kind: 'file', mode: 0o4755, size: 13, source: src.replace('new-config', 'moded-src'), ...base },
    { path: 'etc/opaque', kind: 'dir', mode: 0o700, size: 0, ...base },
    { path: 'etc/opaque/.wh..wh..opq', kind: 'opaque', mode: 0, size: 0, ...base },
  ];
  await writeFile(src.replace('new-config', 'moded-src'), 'mode changes\n');
  const file = path.join(dir, 'layer.tar.zst');
  await writeFile(file, compress(Buffer.concat([...tarChunks(entries)])));
  return file;
}

describe('tree checkpoints', () => {
  it('restores a tree, and a layer applied to the restored tree leaves the checkpoint untouched', async () => {
    const cache = await scratchDir('cp-cache');
    const tree = await sampleTree();
    const before = await describeTree(tree);
    expect(await saveCheckpoint(cache, tree, meta(1))).toBe(true);
    expect(await hasCheckpoint(cache, key(1))).toBe(true);

    const restored = path.join(await scratchDir('cp-restored'), 'tree');
    expect(await restore(cache, 1, restored)).toBe(true);
    expect(await describeTree(restored)).toBe(before);
    // Hard links, not copies: that is what makes a restore cheap.
    expect((await stat(path.join(restored, 'etc/config'))).ino).toBe((await stat(path.join(tree, 'etc/config'))).ino);

    const applied = await applyLayer(await layerOver(await scratchDir('cp-layer')), restored);
    if (!applied.ok) throw new Error(JSON.stringify(applied.error));
    expect(await readFile(path.join(restored, 'etc/config'), 'utf8')).toBe('replaced\n');
    expect(((await stat(path.join(restored, 'etc/moded'))).mode & 0o7777).toString(8)).toBe('4755');

    const again = path.join(await scratchDir('cp-again'), 'tree');
    expect(await restore(cache, 1, again)).toBe(true);
    expect(await describeTree(again)).toBe(before);
    expect(await describeTree(tree)).toBe(before);
  });

  it("keeps a tree the build is done with by moving it: the same directories and files, restored like a copied one", async () => {
    const cache = await scratchDir('cp-cache');
    const tree = await sampleTree();
    const before = await describeTree(tree);
    const dirIno = (await stat(path.join(tree, 'etc'))).ino;
    expect(await saveCheckpoint(cache, tree, meta(7), undefined, 'move')).toBe(true);
    await expect(stat(tree)).rejects.toThrow(/ENOENT/);
    const [kept] = await listCheckpoints(cache);
    // Moved, not copied: a copy would have made the directories anew.
    expect((await stat(path.join(kept!.dir, 'tree', 'etc'))).ino).toBe(dirIno);
    const restored = path.join(await scratchDir('cp-restored'), 'tree');
    expect(await restore(cache, 7, restored)).toBe(true);
    expect(await describeTree(restored)).toBe(before);

    // A checkpoint of that key exists already: the tree stays where it is.
    const second = await sampleTree();
    const secondBefore = await describeTree(second);
    expect(await saveCheckpoint(cache, second, meta(7), undefined, 'move')).toBe(true);
    expect(await describeTree(second)).toBe(secondBefore);
  });

  it('is not restored after a file was written in place through a shared link: reported, removed, the tree left absent', async () => {
    // Issue 18: a checkpoint's /etc/debian_version overwritten in place
    // reached the next build's output.
    const cache = await scratchDir('cp-cache');
    const tree = await sampleTree();
    await saveCheckpoint(cache, tree, meta(1));
    await writeFile(path.join(tree, 'etc/config'), 'TAMPERED\n'); // the build tree shares the inode
    const target = path.join(await scratchDir('cp-restored'), 'tree');
    expect(await restoreCheckpoint(cache, key(1), layer(1), target)).toEqual({ restored: false, damaged: 'changed since it was made: etc/config was changed (size 16 -> 9)' });
    await expect(stat(target)).rejects.toThrow();
    expect(await hasCheckpoint(cache, key(1))).toBe(false);

    // A file added, or one replaced by another inode.
    await saveCheckpoint(cache, tree, meta(2));
    await writeFile(path.join(cache, 'trees-v2', key(2).slice(7), 'tree', 'etc/new'), 'x');
    expect(await restoreCheckpoint(cache, key(2), layer(2), target)).toEqual({ restored: false, damaged: 'changed since it was made: etc/new was added (and 1 more change)' });
    await saveCheckpoint(cache, tree, meta(3));
    const inCheckpoint = path.join(cache, 'trees-v2', key(3).slice(7), 'tree', 'etc/gone');
    await rm(inCheckpoint);
    await writeFile(inCheckpoint, 'to be whited out\n');
    expect((await restoreCheckpoint(cache, key(3), layer(3), target)).restored).toBe(false);
  });

  it('is restored only for the step and layer it was made for', async () => {
    const cache = await scratchDir('cp-cache');
    await saveCheckpoint(cache, await sampleTree(), meta(1));
    const target = path.join(await scratchDir('cp-restored'), 'tree');
    expect(await restoreCheckpoint(cache, key(1), layer(9), target)).toEqual({ restored: false, damaged: 'is the checkpoint of another step (s)' });
    expect(await hasCheckpoint(cache, key(1))).toBe(false);
  });

  it('cache verify reads every file: it finds a change that kept size and mtime, or an xattr, which a restore cannot see', async () => {
    const cache = await scratchDir('cp-cache');
    const tree = await sampleTree();
    await saveCheckpoint(cache, tree, meta(1));
    await saveCheckpoint(cache, tree, meta(2));
    expect((await verify(cache)).ok).toBe(true);
    // Same size, and the mtime put back to the nanosecond (as `cp -p` or `rsync -t` would).
    const file = path.join(tree, 'etc/config');
    const saved = path.join(await scratchDir('cp-times'), 'times');
    await writeFile(saved, '');
    await execa('touch', ['-r', file, saved]);
    await writeFile(file, 'ORIGINAL CONFIG\n');
    await execa('touch', ['-r', saved, file]);
    const target = path.join(await scratchDir('cp-restored'), 'tree');
    expect(await restore(cache, 1, target)).toBe(true); // lstat alone cannot tell
    const report = await verify(cache);
    expect(report.ok).toBe(false);
    expect(report.checkedCheckpoints).toBe(2);
    expect(report.damagedCheckpoints).toEqual([1, 2].map((n) => ({ key: key(n), step: 's', problem: 'changed since it was made: etc/config was changed (its content differs)' })).sort((a, b) => (a.key < b.key ? -1 : 1)));
    expect(await listCheckpoints(cache)).toEqual([]);

    await saveCheckpoint(cache, tree, meta(3));
    await execa('setfattr', ['-n', 'user.note', '-v', 'added', path.join(tree, 'etc/moded')]);
    expect((await verify(cache)).damagedCheckpoints).toEqual([{ key: key(3), step: 's', problem: 'changed since it was made: etc/moded had its extended attributes changed' }]);
  });

  it('has nothing to restore for an unknown key, and nothing after removal', async () => {
    const cache = await scratchDir('cp-cache');
    const target = path.join(await scratchDir('cp-none'), 'tree');
    expect(await restore(cache, 2, target)).toBe(false);
    await saveCheckpoint(cache, await sampleTree(), meta(2));
    await removeCheckpoint(cache, key(2));
    expect(await hasCheckpoint(cache, key(2))).toBe(false);
    expect(await restore(cache, 2, target)).toBe(false);
    await expect(stat(target)).rejects.toThrow();
  });

  it('neither keeps nor restores a tree on another filesystem (a tree built in tmpfs)', async () => {
    const cache = await scratchDir('cp-cache');
    const shm = await mkdtemp('/dev/shm/imgfactory-test-');
    try {
      expect(await saveCheckpoint(cache, await sampleTree(), meta(4))).toBe(true);
      const target = path.join(shm, 'tree');
      expect(await restore(cache, 4, target)).toBe(false);
      await expect(stat(target)).rejects.toThrow();
      await cp(await sampleTree(), path.join(shm, 'mem-tree'), { recursive: true });
      expect(await saveCheckpoint(cache, path.join(shm, 'mem-tree'), meta(5))).toBe(false);
      expect(await hasCheckpoint(cache, key(5))).toBe(false);
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });

  it('stands after the cache is copied to another kind of filesystem, where directories have other sizes', async () => {
    const cache = await scratchDir('cp-cache');
    const shm = await mkdtemp('/dev/shm/imgfactory-test-');
    try {
      const tree = await sampleTree();
      await mkdir(path.join(tree, 'tmp'));
      await chmod(path.join(tree, 'tmp'), 0o1777); // a directory whose mode has more than its type and permissions
      expect(await saveCheckpoint(cache, tree, meta(6))).toBe(true);
      // ext4 gives a directory 4096 bytes, tmpfs 40 and 20 more per entry: the tree's content is the same.
      const copy = path.join(shm, 'cache');
      await execa('cp', ['-a', `${cache}/.`, copy]);
      expect((await verify(copy)).damagedCheckpoints).toEqual([]);
      const target = path.join(shm, 'tree');
      expect(await restore(copy, 6, target)).toBe(true);
      const withoutDirSizes = (d: string): string => d.replace(/^(\S+ d \S+ \S+) \d+/gm, '$1 *');
      expect(withoutDirSizes(await describeTree(target))).toBe(withoutDirSizes(await describeTree(tree)));
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });

  it('a restore racing a removal gives the whole tree or nothing, never part of it', async () => {
    const cache = await scratchDir('cp-cache');
    const tree = await sampleTree();
    for (let d = 0; d < 40; d++) {
      await mkdir(path.join(tree, `many/${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) await writeFile(path.join(tree, `many/${d}/${f}`), `${d}/${f}\n`);
    }
    const whole = await describeTree(tree);
    for (let round = 0; round < 6; round++) {
      await saveCheckpoint(cache, tree, meta(3));
      const target = path.join(await scratchDir('cp-race'), 'tree');
      // Give the removal a head start of 0..5 ms so both orders happen.
      const [restored] = await Promise.all([restore(cache, 3, target), new Promise((r) => setTimeout(r, round)).then(() => removeCheckpoint(cache, key(3)))]);
      if (restored) expect(await describeTree(target)).toBe(whole);
      else await expect(stat(target)).rejects.toThrow();
    }
  });

  it('keeps the most recently used checkpoints of an image and leaves other images alone', async () => {
    const cache = await scratchDir('cp-cache');
    const tree = await sampleTree();
    for (const n of [10, 11, 12]) {
      await saveCheckpoint(cache, tree, meta(n, 'a', `s${n}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    await saveCheckpoint(cache, tree, meta(20, 'b'));
    await restore(cache, 10, path.join(await scratchDir('cp-use'), 'tree')); // 10 becomes the newest use
    await pruneCheckpoints(cache, 'a', 2);
    const left = (await listCheckpoints(cache)).map((c) => c.key).sort();
    expect(left).toEqual([key(10), key(12), key(20)].sort());
  });

  it('does not fail when the tree cannot be linked (it only reports false)', async () => {
    const cache = await scratchDir('cp-cache');
    const missing = path.join(await scratchDir('cp-missing'), 'no-such-tree');
    expect(await saveCheckpoint(cache, missing, meta(4))).toBe(false);
    expect(await listCheckpoints(cache)).toEqual([]);
  });

  it('makes no checkpoint of a tree on another filesystem than the cache', async () => {
    const cache = await scratchDir('cp-cache');
    const elsewhere = await mkdtemp(path.join('/dev/shm', 'imgfactory-cp-'));
    try {
      await writeFile(path.join(elsewhere, 'f'), 'x');
      expect((await stat(elsewhere)).dev).not.toBe((await stat(cache)).dev);
      expect(await saveCheckpoint(cache, elsewhere, meta(5))).toBe(false);
      expect(await listCheckpoints(cache)).toEqual([]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
