import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { text } from 'node:stream/consumers';
import { blobPath } from '../../../src/cache/content-path.js';
import { bucketPath } from '../../../src/cache/index-bucket.js';
import { ls } from '../../../src/cache/index-entries.js';
import { LocalLayerStore } from '../../../src/cache/store-local.js';
import { scratchDir } from '../../support/run-dir.js';
import { compiledSources, workerScript } from './child/compile.js';
import { key, registerStoreTests } from './store-conformance.js';

registerStoreTests('local', async () => new LocalLayerStore(await scratchDir('store')));

describe('LocalLayerStore', () => {
  it('detects a flipped byte while streaming (EINTEGRITY), removes the blob, then misses', async () => {
    const store = new LocalLayerStore(await scratchDir('store'));
    const entry = await store.putLayer(key(1), Buffer.from('precious layer bytes'), {});
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
    expect(await store.lookup(key(1))).toBeNull();
  });

  it('says what was damaged when a lookup misses for it: a blob gone, damaged index lines', async () => {
    const store = new LocalLayerStore(await scratchDir('store'));
    const said: string[] = [];
    store.onDamage = (m) => said.push(m);
    const entry = await store.putLayer(key(1), Buffer.from('layer one'), { step: 'elem/install.d/10-one' });
    await rm(blobPath(store.dir, entry.integrity));
    expect(await store.lookup(key(1))).toBeNull();
    expect(await store.lookup(key(1))).toBeNull();
    expect(said).toEqual([`the blob of elem/install.d/10-one is gone from the cache (${blobPath(store.dir, entry.integrity)}); building it again`]);

    await store.putLayer(key(2), Buffer.from('layer two'), {});
    const bucket = bucketPath(store.dir, key(2));
    // The line's checksum no longer matches: the line is damaged.
    await writeFile(bucket, (await readFile(bucket, 'utf8')).replace(/"size":\d+/, '"size":7'));
    expect(await store.lookup(key(2))).toBeNull();
    expect(said[1]).toBe(`damaged lines skipped in the cache index ${bucket} (1 damaged line); an entry among them is built again`);
  });

  it('gives a verified file path, and an integrity failure (blob removed) for a damaged one', async () => {
    const store = new LocalLayerStore(await scratchDir('store'));
    const entry = await store.putLayer(key(1), Buffer.from('tar bytes'), {});
    const good = await store.layerFile(entry);
    expect(good).toEqual({ ok: true, value: blobPath(store.dir, entry.integrity) });
    await writeFile(blobPath(store.dir, entry.integrity), 'tar bytez');
    const bad = await store.layerFile(entry);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.reason).toBe('integrity');
    expect(await store.lookup(key(1))).toBeNull();
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
      const entry = (await store.lookup(k))!;
      const body = await text(await store.openLayer(entry));
      expect(body.length).toBe(300_000);
      expect(body.startsWith(`${k}\n`)).toBe(true);
    }
    const report = await store.verify();
    expect(report.ok).toBe(true);
    expect(report.checkedBlobs).toBe(allKeys.length);
  });
});
