// Tree checkpoints share inodes with build trees, so the one thing that must
// never happen is a write through a shared inode: applying a layer to a tree
// restored from a checkpoint (files replaced, removed, re-moded, a directory
// made opaque) must leave the checkpoint exactly as it was.
import { execa } from 'execa';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { hasCheckpoint, listCheckpoints, pruneCheckpoints, removeCheckpoint, restoreCheckpoint, saveCheckpoint } from '../../../src/cache/checkpoints.js';
import type { LayerKey } from '../../../src/cache/digest.js';
import { applyLayer } from '../../../src/cache/layer-apply.js';
import type { LayerEntry } from '../../../src/cache/layer-entry.js';
import { tarChunks } from '../../../src/cache/tar-writer.js';
import { scratchDir } from '../../support/run-dir.js';

const key = (n: number): LayerKey => `sha256:${String(n).padStart(64, '0')}` as LayerKey;
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
    expect(await saveCheckpoint(cache, tree, { key: key(1), image: 'img', step: 's' })).toBe(true);
    expect(await hasCheckpoint(cache, key(1))).toBe(true);

    const restored = path.join(await scratchDir('cp-restored'), 'tree');
    expect(await restoreCheckpoint(cache, key(1), restored)).toBe(true);
    expect(await describeTree(restored)).toBe(before);
    // Hard links, not copies: that is what makes a restore cheap.
    expect((await stat(path.join(restored, 'etc/config'))).ino).toBe((await stat(path.join(tree, 'etc/config'))).ino);

    const applied = await applyLayer(await layerOver(await scratchDir('cp-layer')), restored);
    if (!applied.ok) throw new Error(JSON.stringify(applied.error));
    expect(await readFile(path.join(restored, 'etc/config'), 'utf8')).toBe('replaced\n');
    expect(((await stat(path.join(restored, 'etc/moded'))).mode & 0o7777).toString(8)).toBe('4755');

    const again = path.join(await scratchDir('cp-again'), 'tree');
    expect(await restoreCheckpoint(cache, key(1), again)).toBe(true);
    expect(await describeTree(again)).toBe(before);
    expect(await describeTree(tree)).toBe(before);
  });

  it('has nothing to restore for an unknown key, and nothing after removal', async () => {
    const cache = await scratchDir('cp-cache');
    const target = path.join(await scratchDir('cp-none'), 'tree');
    expect(await restoreCheckpoint(cache, key(2), target)).toBe(false);
    await saveCheckpoint(cache, await sampleTree(), { key: key(2), image: 'img', step: 's' });
    await removeCheckpoint(cache, key(2));
    expect(await hasCheckpoint(cache, key(2))).toBe(false);
    expect(await restoreCheckpoint(cache, key(2), target)).toBe(false);
    await expect(stat(target)).rejects.toThrow();
  });

  it('neither keeps nor restores a tree on another filesystem (a tree built in tmpfs)', async () => {
    const cache = await scratchDir('cp-cache');
    const shm = await mkdtemp('/dev/shm/imgfactory-test-');
    try {
      expect(await saveCheckpoint(cache, await sampleTree(), { key: key(4), image: 'img', step: 's' })).toBe(true);
      const target = path.join(shm, 'tree');
      expect(await restoreCheckpoint(cache, key(4), target)).toBe(false);
      await expect(stat(target)).rejects.toThrow();
      await cp(await sampleTree(), path.join(shm, 'mem-tree'), { recursive: true });
      expect(await saveCheckpoint(cache, path.join(shm, 'mem-tree'), { key: key(5), image: 'img', step: 's' })).toBe(false);
      expect(await hasCheckpoint(cache, key(5))).toBe(false);
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
      await saveCheckpoint(cache, tree, { key: key(3), image: 'img', step: 's' });
      const target = path.join(await scratchDir('cp-race'), 'tree');
      // Give the removal a head start of 0..5 ms so both orders happen.
      const [restored] = await Promise.all([restoreCheckpoint(cache, key(3), target), new Promise((r) => setTimeout(r, round)).then(() => removeCheckpoint(cache, key(3)))]);
      if (restored) expect(await describeTree(target)).toBe(whole);
      else await expect(stat(target)).rejects.toThrow();
    }
  });

  it('keeps the most recently used checkpoints of an image and leaves other images alone', async () => {
    const cache = await scratchDir('cp-cache');
    const tree = await sampleTree();
    for (const n of [10, 11, 12]) {
      await saveCheckpoint(cache, tree, { key: key(n), image: 'a', step: `s${n}` });
      await new Promise((r) => setTimeout(r, 20));
    }
    await saveCheckpoint(cache, tree, { key: key(20), image: 'b', step: 's' });
    await restoreCheckpoint(cache, key(10), path.join(await scratchDir('cp-use'), 'tree')); // 10 becomes the newest use
    await pruneCheckpoints(cache, 'a', 2);
    const left = (await listCheckpoints(cache)).map((c) => c.key).sort();
    expect(left).toEqual([key(10), key(12), key(20)].sort());
  });

  it('does not fail when the tree cannot be linked (it only reports false)', async () => {
    const cache = await scratchDir('cp-cache');
    const missing = path.join(await scratchDir('cp-missing'), 'no-such-tree');
    expect(await saveCheckpoint(cache, missing, { key: key(4), image: 'img', step: 's' })).toBe(false);
    expect(await listCheckpoints(cache)).toEqual([]);
  });

  it('makes no checkpoint of a tree on another filesystem than the cache', async () => {
    const cache = await scratchDir('cp-cache');
    const elsewhere = await mkdtemp(path.join('/dev/shm', 'imgfactory-cp-'));
    try {
      await writeFile(path.join(elsewhere, 'f'), 'x');
      expect((await stat(elsewhere)).dev).not.toBe((await stat(cache)).dev);
      expect(await saveCheckpoint(cache, elsewhere, { key: key(5), image: 'img', step: 's' })).toBe(false);
      expect(await listCheckpoints(cache)).toEqual([]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
