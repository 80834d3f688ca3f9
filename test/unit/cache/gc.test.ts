import { mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCheckpoints, saveCheckpoint } from '../../../src/cache/checkpoints.js';
import { blobPath } from '../../../src/cache/content-path.js';
import { writeBlob } from '../../../src/cache/content-write.js';
import { gc } from '../../../src/cache/gc.js';
import { LOCKS_DIR, TMP_DIR, TREES_DIR } from '../../../src/cache/format.js';
import { bucketPath } from '../../../src/cache/index-bucket.js';
import { get, ls } from '../../../src/cache/index-entries.js';
import { withKeyLock } from '../../../src/cache/lock.js';
import { LocalLayerStore } from '../../../src/cache/store-local.js';
import { tempPathFor } from '../../../src/util/atomic-write.js';
import { scratchDir } from '../../support/run-dir.js';
import type { FileDigest, LayerKey } from '../../../src/cache/digest.js';
import { key } from './store-conformance.js';

const KB = 1024;

/** A store with entries 0..n-1 of 10 KiB each, entry i last used n-i hours ago (0 is the oldest). */
async function filled(n: number): Promise<LocalLayerStore> {
  const store = new LocalLayerStore(await scratchDir('gc'));
  for (let i = 0; i < n; i++) {
    await store.putLayer(key(i), 'layer/hook', Buffer.alloc(10 * KB, i), { step: `s${i}` });
    const t = new Date(Date.now() - (n - i) * 3_600_000);
    await utimes(bucketPath(store.dir, key(i)), t, t);
  }
  return store;
}

/** Bytes of the descriptors of `keys` (each entry stores one beside its blob). */
async function descriptorBytes(store: LocalLayerStore, keys: LayerKey[]): Promise<number> {
  let total = 0;
  for (const k of keys) total += (await stat(blobPath(store.dir, (await get(store.dir, k, { touch: false }))!.descriptor))).size;
  return total;
}

/** Checks the fixture: every entry looks unused for an hour or more. */
async function ageEntries(store: LocalLayerStore): Promise<void> {
  for (const e of (await ls(store.dir)).entries) expect(e.lastUse).toBeLessThan(Date.now() - 3_000_000);
}

describe('gc', () => {
  it('removes the least recently used entries and their blobs until under maxSize', async () => {
    const store = await filled(5);
    await ageEntries(store);
    // Entry 1 was used just now; with no grace period it counts as newest.
    await get(store.dir, key(1));
    const kept = await descriptorBytes(store, [key(1), key(4)]);
    const all = kept + (await descriptorBytes(store, [key(0), key(2), key(3)]));
    const report = await gc(store.dir, { maxSize: 25 * KB, graceMs: 0 });
    expect(report.sizeBefore).toBe(50 * KB + all);
    expect(report.removedEntries).toEqual([key(0), key(2), key(3)]);
    expect(report.removedBlobs).toBe(6); // three blobs, three descriptors
    expect(report.sizeAfter).toBe(20 * KB + kept);
    expect(report.underLimit).toBe(true);
    expect((await store.list()).map((e) => e.key).sort()).toEqual([key(1), key(4)].sort());
    expect(await store.lookup(key(0), 'layer/hook')).toBeNull();
  });

  it('removes unreferenced blobs first, but not fresh ones (a writer may be about to index them)', async () => {
    const store = await filled(2);
    const orphanOld = await writeBlob(store.dir, Buffer.alloc(5 * KB, 'o'));
    const old = new Date(Date.now() - 3_600_000);
    await utimes(blobPath(store.dir, orphanOld.integrity), old, old);
    const orphanNew = await writeBlob(store.dir, Buffer.alloc(5 * KB, 'n'));
    const report = await gc(store.dir, { maxSize: 1_000_000, graceMs: 60_000 });
    expect(report.removedBlobs).toBe(1);
    expect(report.removedEntries).toEqual([]);
    await expect(stat(blobPath(store.dir, orphanOld.integrity))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(blobPath(store.dir, orphanNew.integrity))).size).toBe(5 * KB);
  });

  it('never removes an entry whose key is locked or recently used', async () => {
    const store = await filled(3);
    await ageEntries(store);
    await get(store.dir, key(1)); // used now: within the grace period
    const report = await withKeyLock(store.dir, key(0), () => gc(store.dir, { maxSize: 0, graceMs: 60_000 }));
    expect(report.removedEntries).toEqual([key(2)]);
    expect(report.keptInUse.sort()).toEqual([key(0), key(1)].sort());
    expect(report.underLimit).toBe(false);
    expect((await store.list()).map((e) => e.key).sort()).toEqual([key(0), key(1)].sort());
  });

  it('keeps a blob still referenced by another entry', async () => {
    const store = new LocalLayerStore(await scratchDir('gc'));
    await store.putLayer(key('a'), 'layer/hook', Buffer.from('same'), {});
    await store.putLayer(key('b'), 'layer/hook', Buffer.from('same'), {});
    await store.putLayer(key('c'), 'layer/hook', Buffer.from('0123456789'), {});
    for (const [k, hoursAgo] of [['a', 3], ['c', 2], ['b', 1]] as const) {
      const t = new Date(Date.now() - hoursAgo * 3_600_000);
      await utimes(bucketPath(store.dir, key(k)), t, t);
    }
    const b = await descriptorBytes(store, [key('b')]);
    // Dropping 'a' frees its descriptor only ('b' shares its blob), so 'c' goes too; 'b' stays whole.
    const report = await gc(store.dir, { maxSize: 4 + b, graceMs: 0 });
    expect(report.removedEntries).toEqual([key('a'), key('c')]);
    expect(report.removedBlobs).toBe(3);
    expect(report.sizeAfter).toBe(4 + b);
    expect(await store.lookup(key('a'), 'layer/hook')).toBeNull();
    expect((await store.lookup(key('b'), 'layer/hook'))?.size).toBe(4);
  });

  it('removes old temp files and lock set-up dirs', async () => {
    const store = await filled(1);
    await mkdir(path.join(store.dir, TMP_DIR), { recursive: true });
    const stale = path.join(store.dir, TMP_DIR, 'dead-writer');
    const fresh = path.join(store.dir, TMP_DIR, 'live-writer');
    await writeFile(stale, 'x');
    await writeFile(fresh, 'y');
    const old = new Date(Date.now() - 2 * 24 * 3_600_000);
    await utimes(stale, old, old);
    await gc(store.dir, { maxSize: 1_000_000 });
    expect(await readdir(path.join(store.dir, TMP_DIR))).toEqual(['live-writer']);
  });

  it('removes old leftovers with temp names (atomic-write.ts) in the locks and trees dirs, and nothing else there', async () => {
    const store = await filled(1);
    const old = new Date(Date.now() - 2 * 24 * 3_600_000);
    for (const dir of [LOCKS_DIR, TREES_DIR]) {
      await mkdir(path.join(store.dir, dir), { recursive: true });
      const leftovers = [tempPathFor(path.join(store.dir, dir, 'dead')), path.join(store.dir, dir, '.tmp-from-an-older-version')];
      const kept = [tempPathFor(path.join(store.dir, dir, 'live')), path.join(store.dir, dir, 'not-a-temp-name')];
      for (const p of [...leftovers, ...kept]) await mkdir(p);
      for (const p of [...leftovers, kept[1]!]) await utimes(p, old, old);
      await gc(store.dir, { maxSize: 1_000_000 });
      expect((await readdir(path.join(store.dir, dir))).sort()).toEqual(kept.map((p) => path.basename(p)).sort());
    }
  });
});

describe('gc and tree checkpoints', () => {
  async function withCheckpoints(store: LocalLayerStore, keys: number[]): Promise<void> {
    const tree = path.join(await scratchDir('gc-tree'), 'tree');
    await mkdir(tree);
    await writeFile(path.join(tree, 'data'), Buffer.alloc(40 * KB, 'd'));
    for (const k of keys) {
      // Each checkpoint holds its own 40 KiB file (not linked to the others).
      await writeFile(path.join(tree, 'data'), Buffer.alloc(40 * KB, k));
      expect(await saveCheckpoint(store.dir, tree, { key: key(k), layer: `sha256:${'f'.repeat(64)}` as FileDigest, image: 'img', step: `s${k}` })).toBe(true);
      await rm(path.join(tree, 'data'));
    }
  }

  it('removes a checkpoint whose entry is gone, and counts checkpoints in the size', async () => {
    const store = await filled(2);
    await withCheckpoints(store, [0, 7]); // 7 has no entry
    const report = await gc(store.dir, { maxSize: 10_000_000, graceMs: 0 });
    expect(report.sizeBefore).toBeGreaterThan(20 * KB + 80 * KB);
    expect(report.removedCheckpoints).toBe(1);
    expect((await listCheckpoints(store.dir)).map((c) => c.key)).toEqual([key(0)]);
    expect(report.removedEntries).toEqual([]);
  });

  it('over the limit, drops checkpoints before any entry', async () => {
    const store = await filled(2);
    await withCheckpoints(store, [0, 1]);
    const report = await gc(store.dir, { maxSize: 30 * KB, graceMs: 0 });
    expect(report.removedCheckpoints).toBe(2);
    expect(report.removedEntries).toEqual([]);
    expect(report.underLimit).toBe(true);
    expect((await store.list()).length).toBe(2);
  });

  it('removing an entry takes its checkpoint with it', async () => {
    const store = await filled(1);
    await withCheckpoints(store, [0]);
    await store.remove(key(0));
    expect(await listCheckpoints(store.dir)).toEqual([]);
  });

  it('removes the directories of the earlier cache format and keeps the current one', async () => {
    const store = await filled(1);
    for (const old of ['content-v1/sha512/ab/cd', 'index-v1/00/11', 'index-v2/00/11', 'trees-v1/00']) {
      await mkdir(path.join(store.dir, old), { recursive: true });
      await writeFile(path.join(store.dir, old, 'x'), 'old');
    }
    const report = await gc(store.dir, { maxSize: 10_000_000, graceMs: 0 });
    expect(report.removedObsolete).toEqual(['content-v1', 'index-v1', 'index-v2', 'trees-v1']);
    expect((await readdir(store.dir)).sort()).toEqual(['content-v2', 'index-v3', 'tmp']);
    expect((await store.list()).length).toBe(1);
    expect((await gc(store.dir, { maxSize: 10_000_000, graceMs: 0 })).removedObsolete).toEqual([]);
  });
});
