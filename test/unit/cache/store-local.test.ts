import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { text } from 'node:stream/consumers';
import { blobPath } from '../../../src/cache/content-path.js';
import { bucketPath, formatLine, readBucket, type IndexRecord } from '../../../src/cache/index-bucket.js';
import { ls } from '../../../src/cache/index-entries.js';
import { LocalLayerStore } from '../../../src/cache/store-local.js';
import { scratchDir } from '../../support/run-dir.js';
import { compiledSources, workerScript } from './child/compile.js';
import { key, registerStoreTests } from './store-conformance.js';

registerStoreTests('local', async () => new LocalLayerStore(await scratchDir('store')));

describe('LocalLayerStore', () => {
  it('detects a flipped byte while streaming (EINTEGRITY), removes the blob, then misses', async () => {
    const store = new LocalLayerStore(await scratchDir('store'));
    const entry = await store.putLayer(key(1), 'layer/hook', Buffer.from('precious layer bytes'), {});
    const file = blobPath(store.dir, entry.integrity);
    const bytes = await readFile(file);
    bytes[3] = bytes[3]! ^ 0x01;
    await writeFile(file, bytes);
    const err = await text(await store.openLayer(entry)).then(
      () => null,
      (e: unknown) => e as { code?: string; expected?: string; found?: string },
    );
    expect(err?.code).toBe('EINTEGRITY');
    expect(err?.expected).toBe(entry.integrity);
    expect(err?.found).toMatch(/^sha256-/);
    expect(err?.found).not.toBe(entry.integrity);
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await store.lookup(key(1), 'layer/hook')).toBeNull();
  });

  it('says what was damaged when a lookup misses for it: a blob gone, damaged index lines', async () => {
    const store = new LocalLayerStore(await scratchDir('store'));
    const said: string[] = [];
    store.onDamage = (m) => said.push(m);
    const entry = await store.putLayer(key(1), 'layer/hook', Buffer.from('layer one'), { step: 'elem/install.d/10-one' });
    await rm(blobPath(store.dir, entry.integrity));
    expect(await store.lookup(key(1), 'layer/hook')).toBeNull();
    expect(await store.lookup(key(1), 'layer/hook')).toBeNull();
    expect(said).toEqual([`the blob of elem/install.d/10-one is gone from the cache (${blobPath(store.dir, entry.integrity)}); building it again`]);

    await store.putLayer(key(2), 'layer/hook', Buffer.from('layer two'), {});
    const bucket = bucketPath(store.dir, key(2));
    // The line's checksum no longer matches: the line is damaged.
    await writeFile(bucket, (await readFile(bucket, 'utf8')).replace(/"size":\d+/, '"size":7'));
    expect(await store.lookup(key(2), 'layer/hook')).toBeNull();
    expect(said[1]).toBe(`damaged lines skipped in the cache index ${bucket} (1 damaged line); an entry among them is built again`);
  });

  it('never hands out an entry whose index line was re-pointed at another entry (with a valid line checksum)', async () => {
    // Issue 18: a key re-pointed at another valid blob made a build copy the
    // package list out as base.tar, and apply a hook's layer as the base tree.
    const store = new LocalLayerStore(await scratchDir('store'));
    const said: string[] = [];
    store.onDamage = (m) => said.push(m);
    await store.putLayer(key('base'), 'layer/base', Buffer.from('the base tree, 171 MB of it'), { step: 'distro/debian-bookworm' });
    await store.putLayer(key('tar'), 'output/tar', Buffer.from('the image as a tar'), { step: 'output/tar' });
    await store.putLayer(key('pkgs'), 'output/installed-packages', Buffer.from('[{"name":"bash"}]'), { step: 'output/installed-packages' });
    await store.putLayer(key('hook'), 'layer/hook', Buffer.from("a hook's layer"), { step: 'e/install.d/10-x' });
    const lineOf = async (k: string): Promise<IndexRecord> => (await readBucket(bucketPath(store.dir, key(k)))).records.at(-1)!;
    const repoint = async (k: string, line: IndexRecord): Promise<void> => appendFile(bucketPath(store.dir, key(k)), formatLine({ ...line, key: key(k) }));

    // The whole line of another entry, blob and descriptor.
    await repoint('tar', await lineOf('pkgs'));
    await repoint('base', await lineOf('hook'));
    expect(await store.lookup(key('tar'), 'output/tar')).toBeNull();
    expect(await store.lookup(key('base'), 'layer/base')).toBeNull();
    expect(said).toEqual([
      `the cache entry of ${key('tar')} (output/tar) is bound to another key, ${key('pkgs')} (output/installed-packages); not used, building it again`,
      `the cache entry of ${key('base')} (layer/base) is bound to another key, ${key('hook')} (e/install.d/10-x); not used, building it again`,
    ]);
    // Another entry's blob beside the key's own descriptor.
    await store.putLayer(key('tar'), 'output/tar', Buffer.from('the image as a tar'), { step: 'output/tar' });
    const pkgs = await lineOf('pkgs');
    await repoint('tar', { ...(await lineOf('tar')), integrity: pkgs.integrity, size: pkgs.size });
    expect(await store.lookup(key('tar'), 'output/tar')).toBeNull();
    expect(said[2]).toMatch(new RegExp(`^the cache entry of ${key('tar')} \\(output/tar\\) names blob sha256:[0-9a-f]{64}, but its descriptor binds blob sha256:[0-9a-f]{64}; not used`));
    // A blob where the descriptor belongs.
    await repoint('base', { ...pkgs, descriptor: pkgs.integrity });
    expect(await store.lookup(key('base'), 'layer/base')).toBeNull();
    expect(said[3]).toMatch(/names a descriptor that is not an imgfactory\.entry\.v1 descriptor; not used/);
    // The entries re-pointed at are untouched.
    expect(await text(await store.openLayer((await store.lookup(key('pkgs'), 'output/installed-packages'))!))).toBe('[{"name":"bash"}]');
    expect(await text(await store.openLayer((await store.lookup(key('hook'), 'layer/hook'))!))).toBe("a hook's layer");
  });

  it('never hands out an entry as another kind than it was stored as', async () => {
    const store = new LocalLayerStore(await scratchDir('store'));
    const said: string[] = [];
    store.onDamage = (m) => said.push(m);
    await store.putLayer(key(1), 'output/installed-packages', Buffer.from('[]'), {});
    expect(await store.lookup(key(1), 'output/tar')).toBeNull();
    expect(said).toEqual([`the cache entry of ${key(1)} (output/tar) is of kind output/installed-packages, not output/tar; not used, building it again`]);
    expect((await store.lookup(key(1), 'output/installed-packages'))?.kind).toBe('output/installed-packages');
    expect((await store.lookup(key(1), 'any'))?.kind).toBe('output/installed-packages');
  });

  it('gives a verified file path, and an integrity failure (blob removed) for a damaged one', async () => {
    const store = new LocalLayerStore(await scratchDir('store'));
    const entry = await store.putLayer(key(1), 'layer/hook', Buffer.from('tar bytes'), {});
    const good = await store.layerFile(entry);
    expect(good).toEqual({ ok: true, value: blobPath(store.dir, entry.integrity) });
    await writeFile(blobPath(store.dir, entry.integrity), 'tar bytez');
    const bad = await store.layerFile(entry);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.reason).toBe('integrity');
    expect(await store.lookup(key(1), 'layer/hook')).toBeNull();
  });
});

describe('LocalLayerStore shared by several processes', () => {
  let mod: string;
  beforeAll(async () => {
    mod = await compiledSources();
  });

  it('builds each key exactly once, loses and tears nothing, and verifies clean', async () => {
    const cache = await scratchDir('shared-cache');
    const log = path.join(cache, '..', `${path.basename(cache)}.builds`);
    await writeFile(log, '');
    const shared = Array.from({ length: 8 }, (_, i) => key(`shared-${i}`));
    const jobs = Array.from({ length: 4 }, (_, p) => {
      const own = Array.from({ length: 4 }, (_, i) => key(`own-${p}-${i}`));
      // Each process walks the shared keys from another starting point.
      const mine = [...shared.slice(p * 2), ...shared.slice(0, p * 2), ...own];
      return execa('node', [workerScript, mod, JSON.stringify({ op: 'build', cache, keys: mine, size: 300_000, log })]);
    });
    const results = (await Promise.all(jobs)).map((r) => JSON.parse(r.stdout) as { built: string[]; hits: string[] });

    const builds = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    const allKeys = [...shared, ...Array.from({ length: 4 }, (_, p) => Array.from({ length: 4 }, (_, i) => key(`own-${p}-${i}`))).flat()];
    expect(builds.sort()).toEqual([...allKeys].sort());
    expect(results.flatMap((r) => r.hits).length).toBe(shared.length * 3);

    const store = new LocalLayerStore(cache);
    const listing = await ls(cache);
    expect(listing.badLines).toBe(0);
    expect(listing.entries.map((e) => e.key).sort()).toEqual([...allKeys].sort());
    for (const k of allKeys) {
      const entry = (await store.lookup(k, 'layer/hook'))!;
      const body = await text(await store.openLayer(entry));
      expect(body.length).toBe(300_000);
      expect(body.startsWith(`${k}\n`)).toBe(true);
    }
    const report = await store.verify();
    expect(report.ok).toBe(true);
    expect(report.checkedBlobs).toBe(allKeys.length * 2); // each blob and its descriptor
  });
});
