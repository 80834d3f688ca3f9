// The store `build --cache-from/--cache-to` uses: a local store whose misses
// fall back to remote caches (real docker-registry and OCI layout). A remote
// hit lands in the local store; a registry that is down is one warning and
// local misses (or a failure with --cache-required); a damaged remote blob is
// a warning and a miss; push sends the chain, outputs and volatile records
// (min) or every used key (max).
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VOLATILE_RECORD_KIND } from '../../src/cache/entry-descriptor.js';
import { openCachingStore, type RemoteCacheSettings } from '../../src/cache/remote/caching-store.js';
import { openRemoteCache } from '../../src/cache/remote/remote-cache.js';
import { LocalLayerStore } from '../../src/cache/store-local.js';
import { FailureError } from '../../src/failure.js';
import { freePort, startRegistry, type TestRegistry } from '../support/registry.js';
import { scratchDir } from '../support/run-dir.js';
import { key, localWith } from './remote-cache-conformance.js';

let registry: TestRegistry;
let n = 0;
beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
});

const settings = (s: Partial<RemoteCacheSettings>): RemoteCacheSettings => ({ cacheFrom: [], cacheTo: null, mode: 'min', required: false, insecure: true, ...s });

async function seeded(blobs: Record<string, Buffer>, image = 'img'): Promise<string> {
  const ref = `registry://${registry.host}/seeded/r${++n}`;
  const remote = await openRemoteCache(ref, { insecure: true, push: true, credentials: null });
  if (!remote.ok) throw new Error('open');
  const pushed = await remote.value.push(image, Object.keys(blobs).map(key), await localWith(blobs, image));
  if (!pushed.ok) throw new Error(JSON.stringify(pushed.error));
  return ref;
}

describe('CachingLayerStore', () => {
  it('a local miss is fetched from --cache-from, verified and kept locally; local hits never ask the remote', async () => {
    const data = randomBytes(3000);
    const ref = await seeded({ s1: data });
    const warnings: string[] = [];
    const store = await openCachingStore(await scratchDir('cs'), 'img', settings({ cacheFrom: [ref] }), (w) => warnings.push(w));
    const hit = await store.lookup(key('s1'), 'layer/hook');
    expect(hit).not.toBeNull();
    expect((await buffer(await store.openLayer(hit!))).equals(data)).toBe(true);
    expect((await store.layerFile(hit!)).ok).toBe(true);
    expect(await new LocalLayerStore(store.dir).lookup(key('s1'), 'layer/hook')).not.toBeNull();
    expect(await store.lookup(key('s2'), 'layer/hook')).toBeNull();
    await store.lookup(key('s1'), 'layer/hook');
    expect(store.summary()[0]!.stats).toMatchObject({ hits: 1, misses: 1, bytesPulled: 3000 });
    expect(warnings).toEqual([]);
  });

  it('a registry that is down is one warning and the build goes on locally', async () => {
    const ref = `registry://127.0.0.1:${await freePort()}/gone`;
    const warnings: string[] = [];
    const store = await openCachingStore(await scratchDir('cs'), 'img', settings({ cacheFrom: [ref], cacheTo: ref }), (w) => warnings.push(w));
    await store.putLayer(key('local'), 'layer/hook', Buffer.from('here'), { image: 'img', step: 'x' });
    expect(await store.lookup(key('a'), 'layer/hook')).toBeNull();
    expect(await store.lookup(key('b'), 'layer/hook')).toBeNull();
    expect(await store.lookup(key('local'), 'layer/hook')).not.toBeNull();
    expect(await store.push('img', [key('local')])).toBeNull();
    expect(warnings).toHaveLength(2); // one for --cache-from, one for --cache-to
    expect(warnings[0]).toMatch(/unavailable .*ECONNREFUSED.*going on without it/);
    expect(store.summary().map((s) => s.warning !== undefined)).toEqual([true, true]);
  });

  it('with --cache-required a registry that is down fails the build', async () => {
    const ref = `registry://127.0.0.1:${await freePort()}/gone`;
    const store = await openCachingStore(await scratchDir('cs'), 'img', settings({ cacheFrom: [ref], required: true }), () => undefined);
    const err = await store.lookup(key('a'), 'layer/hook').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).failure).toMatchObject({ reason: 'remote-cache' });
  });

  it('a damaged remote blob is a warning and a miss, never a local entry', async () => {
    const data = randomBytes(2048);
    const ref = await seeded({ bad: data });
    const hex = createHash('sha256').update(data).digest('hex');
    const file = path.join(registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 1;
    await writeFile(file, bytes);
    const warnings: string[] = [];
    const store = await openCachingStore(await scratchDir('cs'), 'img', settings({ cacheFrom: [ref] }), (w) => warnings.push(w));
    expect(await store.lookup(key('bad'), 'layer/hook')).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/rejected a blob .* building the step instead/);
    expect(await store.list()).toEqual([]);
  });

  it('asks the --cache-from refs in order and takes the first hit', async () => {
    const first = await seeded({ only2: Buffer.from('from the second') }, 'img');
    const layout = `oci:${await scratchDir('oci')}`;
    const l = await openRemoteCache(layout, {});
    if (!l.ok) throw new Error('open');
    await l.value.push('img', [key('only1')], await localWith({ only1: Buffer.from('from the layout') }));
    const store = await openCachingStore(await scratchDir('cs'), 'img', settings({ cacheFrom: [layout, first] }), () => undefined);
    expect((await buffer(await store.openLayer((await store.lookup(key('only1'), 'layer/hook'))!))).toString()).toBe('from the layout');
    expect((await buffer(await store.openLayer((await store.lookup(key('only2'), 'layer/hook'))!))).toString()).toBe('from the second');
  });

  it('push: mode=min sends the chain, the outputs and the volatile records, mode=max everything the build used', async () => {
    for (const mode of ['min', 'max'] as const) {
      const to = `oci:${await scratchDir('oci')}`;
      const store = await openCachingStore(await scratchDir('cs'), 'img', settings({ cacheTo: to, mode }), () => undefined);
      await store.putLayer(key('c1'), 'layer/hook', Buffer.from('1'), { image: 'img', step: 'a/install.d/1' });
      await store.putLayer(key('c2'), 'layer/hook', Buffer.from('2'), { image: 'img', step: 'a/install.d/2' });
      await store.putLayer(key('side'), 'layer/hook', Buffer.from('s'), { image: 'img', step: 'a/install.d/old' });
      await store.putLayer(key('out'), 'output/tar', Buffer.from('tar'), { image: 'img', step: 'output/tar' });
      // Names the key c2 is stored under (engine/chain.ts): another runner needs it to find c2.
      await store.putLayer(key('rec'), VOLATILE_RECORD_KIND, Buffer.from('["etc/ssh/ssh_host_*"]'), { image: 'img', step: 'a/install.d/2', matched: ['etc/ssh/ssh_host_*'] });
      const report = await store.push('img', [key('c1'), key('c2')]);
      expect(report?.entries).toBe(mode === 'min' ? 4 : 5);
      const reader = await openRemoteCache(to, { image: 'img' });
      if (!reader.ok) throw new Error('open');
      const listed = await reader.value.entriesOf('img');
      const keys = listed.ok ? listed.value.entries.map((e) => e.key).sort() : [];
      expect(keys).toEqual((mode === 'min' ? [key('c1'), key('c2'), key('out'), key('rec')] : [key('c1'), key('c2'), key('side'), key('out'), key('rec')]).sort());
    }
  });
});
