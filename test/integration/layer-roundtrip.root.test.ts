// Layers round-trip a real Debian tree with full fidelity, and a layer packed
// from an overlayfs upper dir turns the lower tree into exactly what the
// merged view showed (whiteouts, opaque dirs, file<->dir replacements).
// Moving a layer's files onto a tree (what a build does with a step it just
// built) makes the very tree applying the packed blob makes, to the
// nanosecond and the last xattr; so does moving it with the files a tree
// checkpoint already holds linked from there (shared-files.ts), which links
// only files the same in every respect, at the same path, linked nowhere else.
import { execa } from 'execa';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints, saveCheckpoint, verifyCheckpoint } from '../../src/cache/checkpoints.js';
import type { FileDigest, LayerKey } from '../../src/cache/digest.js';
import { isExcludedPath } from '../../src/cache/layer-exclude.js';
import { applyLayer } from '../../src/cache/layer-apply.js';
import { mergeLayer } from '../../src/cache/layer-merge.js';
import { walkLayer } from '../../src/cache/layer-walk.js';
import { packLayer } from '../../src/cache/layer-pack.js';
import { SharedFiles } from '../../src/cache/shared-files.js';
import { digestId } from '../../src/cache/tree-record.js';
import { copyDebianTree, debianTree } from '../support/debian-tree.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';
import { inTestTools } from '../support/test-tools.js';
import { compareTrees, formatDifferences } from '../support/tree-compare.js';

const ignore = isExcludedPath;
const SLOW = scaled(300_000); // whole Debian trees are copied, packed, applied and hashed

/** Moves what walkLayer finds in `source` onto `target` and checks it matches `applied` exactly. */
async function expectMergeMatches(source: string, kind: 'tree' | 'upper', target: string, applied: string): Promise<void> {
  const walked = await walkLayer(source, { source: kind });
  if (!walked.ok) throw new Error(JSON.stringify(walked.error));
  const merged = await mergeLayer(walked.value, source, target);
  if (!merged.ok) throw new Error(JSON.stringify(merged.error));
  const diffs = await compareTrees(applied, target, { ignore, mtime: 'ns' });
  expect(diffs, formatDifferences(diffs)).toEqual([]);
}

async function sh(cwd: string, script: string): Promise<void> {
  await execa('sh', ['-euc', script], { cwd });
}

describe('layer round trip', () => {
  beforeAll(async () => {
    await debianTree();
  });

  it('packs and restores a Debian tree with every kind of file and metadata', async () => {
    const work = await scratchDir('roundtrip');
    const src = await copyDebianTree(path.join(work, 'src'));
    await sh(src, `
      mkdir -p srv/empty srv/sgid srv/sticky
      cp -a usr/bin/true usr/local/bin/suid && chmod 4755 usr/local/bin/suid
      cp -a usr/bin/true usr/local/bin/pinger
      chgrp 50 srv/sgid && chmod 2775 srv/sgid
      chmod 1777 srv/sticky
      echo pair > srv/hl1 && ln srv/hl1 srv/hl2 && chown 1234:4321 srv/hl1
      mkfifo -m 640 srv/fifo
      mknod -m 620 srv/ttyish c 4 64 && mknod -m 660 srv/loopish b 7 0
      setfattr -n user.note -v hello srv/hl1
      setfattr -n user.bin -v 0x00ff0a3d srv/sgid
      setfattr -n trusted.x -v secret srv/empty
      touch -h -d @1600000000.5 usr/local/bin/suid
      touch -h -d @1600000000.123456789 srv/hl2 && ln -s hl1 srv/sym && touch -h -d @1600000001.987654321 srv/sym
      echo scratch > run/not-in-layer
    `);
    await execa(...inTestTools('setcap', ['cap_net_raw+ep', path.join(src, 'usr/local/bin/pinger')]));
    const blob = path.join(work, 'layer.tar.zst');
    const packed = await packLayer(src, blob, { source: 'tree' });
    if (!packed.ok) throw new Error(JSON.stringify(packed.error));
    expect(packed.value.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(packed.value.size).toBe((await stat(blob)).size);

    const listing = await execa(...inTestTools('sh', ['-c', `zstd -dc '${blob}' | tar --xattrs --xattrs-include='*' -tvv`]));
    expect(listing.stdout).toMatch(/x: \d+ security\.capability/);
    expect(listing.stdout).not.toContain('run/not-in-layer');

    const dest = path.join(work, 'dest');
    await mkdir(dest);
    const applied = await applyLayer(blob, dest);
    if (!applied.ok) throw new Error(JSON.stringify(applied.error));
    expect(applied.value.tarBytes).toBe(packed.value.uncompressedSize);

    const diffs = await compareTrees(src, dest, { ignore });
    expect(diffs, formatDifferences(diffs)).toEqual([]);
    const cap = await execa(...inTestTools('getcap', [path.join(dest, 'usr/local/bin/pinger')]));
    expect(cap.stdout).toContain('cap_net_raw=ep');
    expect((await stat(path.join(dest, 'usr/local/bin/suid'))).mode & 0o7777).toBe(0o4755);
    await expect(stat(path.join(dest, 'run/not-in-layer'))).rejects.toThrow();

    const again = await packLayer(src, path.join(work, 'again.tar.zst'), { source: 'tree' });
    expect(again.ok && again.value.diffId).toBe(packed.value.diffId);

    const moved = path.join(work, 'moved');
    await mkdir(moved);
    await expectMergeMatches(src, 'tree', moved, dest);
    await expect(stat(path.join(src, 'usr/bin/true'))).rejects.toThrow(); // moved, not copied
    expect(await readFile(path.join(src, 'run/not-in-layer'), 'utf8')).toBe('scratch\n'); // left behind
  }, SLOW);

  it('applies an overlay upper dir as a layer that reproduces the merged view', async () => {
    const work = await scratchDir('overlay');
    const lower = await copyDebianTree(path.join(work, 'lower'));
    await sh(lower, `
      mkdir -p srv/replace-me/y srv/dir-becomes-file/x srv/gone-dir/deep
      echo x > srv/replace-me/x && echo z > srv/replace-me/y/z
      echo f > srv/file-becomes-dir && echo g > srv/gone-dir/deep/g
    `);
    const [target, moved] = [path.join(work, 'target'), path.join(work, 'moved')];
    for (const t of [target, moved]) {
      await mkdir(t);
      await execa('cp', ['-a', `${lower}/.`, t]);
    }
    const [upper, wk, merged, expected] = ['upper', 'work', 'merged', 'expected'].map((d) => path.join(work, d)) as [string, string, string, string];
    for (const d of [upper, wk, merged, expected]) await mkdir(d);
    const rootSt = await stat(lower);
    await chmod(upper, rootSt.mode & 0o7777); // the builder gives the upper dir the root's metadata
    await chown(upper, rootSt.uid, rootSt.gid);

    await execa('mount', ['-t', 'overlay', 'overlay', '-o',
      `lowerdir=${lower},upperdir=${upper},workdir=${wk},redirect_dir=off,metacopy=off,index=off`, merged]);
    try {
      await sh(merged, `
        echo added > etc/added && mkdir -p opt/new/dir
        echo modified >> etc/debian_version
        chmod 4711 usr/bin/true && chown 1:1 usr/bin/false
        rm etc/issue && rm -r srv/gone-dir
        rm -r srv/replace-me && mkdir srv/replace-me && echo fresh > srv/replace-me/fresh
        rm srv/file-becomes-dir && mkdir srv/file-becomes-dir && echo in > srv/file-becomes-dir/in
        rm -r srv/dir-becomes-file && echo now-a-file > srv/dir-becomes-file
        ln etc/debian_version etc/debian_version.link
        setfattr -n user.tag -v v1 etc/added
        touch -d @1600000000.000000999 etc/added && echo scratch > run/left-out && echo carried > tmp/carried
      `);
      await execa('cp', ['-a', `${merged}/.`, expected]);
    } finally {
      await execa('umount', [merged]);
    }
    expect(await readFile(path.join(lower, 'etc/issue'), 'utf8')).not.toBe(''); // lower untouched

    const blob = path.join(work, 'layer.tar.zst');
    const packed = await packLayer(upper, blob, { source: 'upper' });
    if (!packed.ok) throw new Error(JSON.stringify(packed.error));
    const listing = await execa(...inTestTools('sh', ['-c', `zstd -dc '${blob}' | tar -t`]));
    expect(listing.stdout.split('\n')).toEqual(
      expect.arrayContaining(['etc/.wh.issue', 'srv/.wh.gone-dir', 'srv/replace-me/.wh..wh..opq']),
    );

    const applied = await applyLayer(blob, target);
    if (!applied.ok) throw new Error(JSON.stringify(applied.error));
    const diffs = await compareTrees(expected, target, { ignore });
    expect(diffs, formatDifferences(diffs)).toEqual([]);
    // /tmp is carried from step to step, as diskimage-builder's hooks expect; /run is not.
    expect(await readFile(path.join(target, 'tmp/carried'), 'utf8')).toBe('carried\n');
    await expect(stat(path.join(target, 'run/left-out'))).rejects.toThrow();

    // A copied-up file carries overlayfs' trusted.overlay.origin; the moved one must not.
    expect((await execa('getfattr', ['-h', '-d', '-m', '-', path.join(upper, 'etc/debian_version')])).stdout).toContain('trusted.overlay.origin');
    await expectMergeMatches(upper, 'upper', moved, target);
  }, SLOW);

  it('links from a tree checkpoint the files it holds the same, and the tree is the one moving makes', async () => {
    const work = await scratchDir('shared');
    const held = await copyDebianTree(path.join(work, 'held'));
    // In the checkpoint: cat linked at a second path (its inode is at two paths of that tree).
    await sh(held, 'ln usr/bin/cat srv/cat-twin');
    const cache = path.join(work, 'cache');
    const hex = 'ab'.repeat(32);
    const meta = { key: `sha256:${hex}` as LayerKey, layer: `sha256:${'cd'.repeat(32)}` as FileDigest, image: 'other', step: 'x/install.d/01' };
    expect(await saveCheckpoint(cache, held, meta)).toBe(true);
    const checkpointTree = path.join(cache, 'trees-v2', hex, 'tree');

    // The layer: the same files in new inodes, a few of them not the same.
    const layer = await copyDebianTree(path.join(work, 'layer'));
    const version = await stat(path.join(layer, 'etc/debian_version'));
    const text = await readFile(path.join(layer, 'etc/debian_version'), 'utf8');
    await writeFile(path.join(layer, 'etc/debian_version'), text.replace(/\d/, (d) => String((Number(d) + 1) % 10)));
    await execa('touch', ['-d', `@${version.mtimeMs / 1000}`, path.join(layer, 'etc/debian_version')]); // same size and mtime, other bytes
    await sh(layer, `
      chmod 4755 usr/bin/true
      ln usr/bin/false usr/local/bin/false-twin
      setfattr -n user.note -v x usr/bin/sleep
      cp -a usr/bin/ls usr/local/bin/ls-copy
    `);
    const [plainSrc, sharedSrc, plain, linked] = ['plain-src', 'shared-src', 'plain', 'linked'].map((d) => path.join(work, d)) as [string, string, string, string];
    for (const d of [plainSrc, sharedSrc]) await execa('cp', ['-a', layer, d]);
    for (const d of [plain, linked]) await mkdir(d);

    const walkedPlain = await walkLayer(plainSrc, { source: 'tree' });
    const walkedShared = await walkLayer(sharedSrc, { source: 'tree' });
    if (!walkedPlain.ok || !walkedShared.ok) throw new Error('walk failed');
    const a = await mergeLayer(walkedPlain.value, plainSrc, plain);
    const known = new Map<string, string>();
    const b = await mergeLayer(walkedShared.value, sharedSrc, linked, new SharedFiles(cache, known));
    if (!a.ok || !b.ok) throw new Error('merge failed');
    expect(a.value.shared).toEqual({ files: 0, bytes: 0 });

    const diffs = await compareTrees(plain, linked, { ignore, mtime: 'ns' });
    expect(diffs, formatDifferences(diffs)).toEqual([]);
    const ino = async (root: string, rel: string) => (await stat(path.join(root, rel))).ino;
    for (const rel of ['usr/bin/ls', 'usr/bin/dpkg', 'usr/lib/os-release']) expect(await ino(linked, rel), rel).toBe(await ino(checkpointTree, rel));
    for (const rel of ['etc/debian_version', 'usr/bin/true', 'usr/bin/false', 'usr/bin/sleep', 'usr/bin/cat']) {
      expect(await ino(linked, rel), rel).not.toBe(await ino(checkpointTree, rel));
    }
    expect((await stat(path.join(linked, 'usr/local/bin/ls-copy'))).nlink).toBe(1);
    const inodes = async (root: string) => new Map((await execa('find', ['.', '-type', 'f', '-printf', '%P %i\n'], { cwd: root })).stdout.split('\n').map((l) => l.split(' ') as [string, string]));
    const theirs = await inodes(checkpointTree);
    const same = [...(await inodes(linked))].filter(([rel, i]) => theirs.get(rel) === i);
    expect(b.value.shared.files).toBeGreaterThan(1000);
    expect(b.value.shared.files).toBe(same.length);
    const ls = await stat(path.join(checkpointTree, 'usr/bin/ls'), { bigint: true });
    expect(known.get(digestId(ls.ino, ls.size, ls.mtimeNs))).toMatch(/^[0-9a-f]{64}$/); // the next record reads it from here

    // The checkpoint is untouched.
    const [checkpoint] = await listCheckpoints(cache);
    expect(await verifyCheckpoint(cache, checkpoint!, new Map())).toBeNull();
  }, SLOW);
});
