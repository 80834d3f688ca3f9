import { appendFile, readFile, unlink, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { blobPath } from '../../../src/cache/content-path.js';
import { bucketPath, formatLine, readBucket } from '../../../src/cache/index-bucket.js';
import { LocalLayerStore } from '../../../src/cache/store-local.js';
import { verify } from '../../../src/cache/verify.js';
import { scratchDir } from '../../support/run-dir.js';
import { key } from './store-conformance.js';

describe('verify', () => {
  it('reports a clean cache as ok', async () => {
    const store = new LocalLayerStore(await scratchDir('verify'));
    await store.putLayer(key(1), 'layer/hook', Buffer.from('one'), {});
    await store.putLayer(key(2), 'layer/hook', Buffer.from('two'), {});
    // Two blobs and their descriptors.
    expect(await verify(store.dir)).toEqual({ checkedBlobs: 4, damaged: [], removedEntries: [], unboundEntries: [], badIndexLines: 0, checkedCheckpoints: 0, damagedCheckpoints: [], ok: true });
  });

  it('finds a damaged blob, removes it and the entries using it', async () => {
    const store = new LocalLayerStore(await scratchDir('verify'));
    const bad = await store.putLayer(key(1), 'layer/hook', Buffer.from('one'), {});
    await store.putLayer(key(2), 'layer/hook', Buffer.from('one'), {});
    await store.putLayer(key(3), 'layer/hook', Buffer.from('three'), {});
    const file = blobPath(store.dir, bad.integrity);
    const bytes = await readFile(file);
    bytes[1] = bytes[1]! ^ 0xff;
    await writeFile(file, bytes);
    const report = await verify(store.dir);
    expect(report.ok).toBe(false);
    expect(report.damaged).toEqual([{ integrity: bad.integrity, path: file, found: expect.stringMatching(/^sha256-/) }]);
    expect(report.removedEntries.sort()).toEqual([key(1), key(2)].sort());
    expect((await store.list()).map((e) => e.key)).toEqual([key(3)]);
    expect((await verify(store.dir)).ok).toBe(true);
  });

  it('removes entries whose blob is gone and counts bad index lines', async () => {
    const store = new LocalLayerStore(await scratchDir('verify'));
    const gone = await store.putLayer(key(1), 'layer/hook', Buffer.from('one'), {});
    await unlink(blobPath(store.dir, gone.integrity));
    await appendFile(bucketPath(store.dir, key(1)), '\nnot-a-checksum\t{}');
    const report = await verify(store.dir);
    expect(report.removedEntries).toEqual([key(1)]);
    expect(report.badIndexLines).toBe(1);
    expect(report.ok).toBe(false);
  });

  it('finds entries re-pointed at another entry, removes them, and keeps the others', async () => {
    const store = new LocalLayerStore(await scratchDir('verify'));
    await store.putLayer(key('tar'), 'output/tar', Buffer.from('the image as a tar'), { step: 'output/tar' });
    await store.putLayer(key('pkgs'), 'output/installed-packages', Buffer.from('[]'), { step: 'output/installed-packages' });
    const pkgs = (await readBucket(bucketPath(store.dir, key('pkgs')))).records.at(-1)!;
    await appendFile(bucketPath(store.dir, key('tar')), formatLine({ ...pkgs, key: key('tar') }));
    const report = await verify(store.dir);
    expect(report.ok).toBe(false);
    expect(report.damaged).toEqual([]);
    expect(report.unboundEntries).toEqual([{ key: key('tar'), problem: `is bound to another key, ${key('pkgs')} (output/installed-packages)` }]);
    expect((await store.list()).map((e) => e.key)).toEqual([key('pkgs')]);
    expect((await verify(store.dir)).ok).toBe(true);
  });
});
