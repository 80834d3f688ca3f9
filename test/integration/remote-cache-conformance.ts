// The suite every remote cache passes (a registry anonymous over HTTP, one
// with htpasswd over TLS, an OCI layout): push from local store A, read back
// from a fresh remote handle into an empty store B, byte for byte; pushing
// again uploads nothing; a chunked upload of a large blob; a blob damaged in
// the remote is rejected and never stored.
import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import type { LayerKey } from '../../src/cache/digest.js';
import type { RemoteCache, RemoteCacheOptions } from '../../src/cache/remote/remote-cache.js';
import { LocalLayerStore } from '../../src/cache/store-local.js';
import { scratchDir } from '../support/run-dir.js';

export interface RemoteUnderTest {
  /** A fresh handle on the same remote (nothing cached in memory). */
  open(opts?: RemoteCacheOptions): Promise<RemoteCache>;
  /** Flips a byte of the blob in the remote's own storage. */
  corrupt(digest: string): Promise<void>;
}

export const key = (n: string): LayerKey => `sha256:${createHash('sha256').update(n).digest('hex')}` as LayerKey;

export async function localWith(blobs: Record<string, Buffer>, image = 'img'): Promise<LocalLayerStore> {
  const store = new LocalLayerStore(await scratchDir('local'));
  for (const [name, data] of Object.entries(blobs)) {
    await store.putLayer(key(name), 'layer/hook', data, { image, step: name, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', diffId: `sha256:${'0'.repeat(64)}` });
  }
  return store;
}

export function registerRemoteCacheTests(name: string, make: () => Promise<RemoteUnderTest>): void {
  describe(`remote cache conformance: ${name}`, () => {
    it('round-trips entries: push from A, a fresh handle finds them, fetch into B byte for byte', async () => {
      const remote = await make();
      const blobs = { 'step-1': randomBytes(1000), 'step-2': randomBytes(20_000), 'step-3': Buffer.alloc(0) };
      const a = await localWith(blobs);
      const pusher = await remote.open({ image: 'img', push: true });
      const pushed = await pusher.push('img', Object.keys(blobs).map(key), a);
      expect(pushed.ok).toBe(true);
      if (!pushed.ok) return;
      expect(pushed.value.entries).toBe(3);
      expect(pushed.value.blobsPushed).toBe(4); // three layers and the config
      expect(pushed.value.tags).toEqual(['img', `img--${key('step-3').slice(7, 31)}`]);

      const reader = await remote.open({ image: 'img' });
      const b = new LocalLayerStore(await scratchDir('local-b'));
      expect(await reader.lookup(key('nope'))).toEqual({ ok: true, value: null });
      for (const [n, data] of Object.entries(blobs)) {
        const found = await reader.lookup(key(n));
        expect(found.ok && found.value?.digest).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
        if (!found.ok || !found.value) return;
        const got = await reader.fetch(found.value, b);
        expect(got.ok).toBe(true);
        const entry = (await b.lookup(key(n), 'layer/hook'))!;
        expect(entry.metadata).toMatchObject({ image: 'img', step: n, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', diffId: `sha256:${'0'.repeat(64)}` });
        expect((await buffer(await b.openLayer(entry))).equals(data)).toBe(true);
      }
      expect(reader.stats.hits).toBe(3);
      expect(reader.stats.misses).toBe(1);
      expect(reader.stats.bytesPulled).toBe(21_000);

      const all = await reader.entriesOf('img');
      expect(all.ok && all.value.entries.map((e) => e.key).sort()).toEqual(Object.keys(blobs).map(key).sort());
    });

    it('uploads nothing twice: a second push finds every blob there (HEAD)', async () => {
      const remote = await make();
      const a = await localWith({ one: randomBytes(5000), two: randomBytes(5000) }, 'again');
      const first = await (await remote.open({ push: true })).push('again', [key('one'), key('two')], a);
      const second = await (await remote.open({ push: true })).push('again', [key('one'), key('two')], a);
      expect(first.ok && first.value.blobsPushed).toBe(3);
      expect(second.ok && second.value).toMatchObject({ blobsPushed: 0, blobsSkipped: 3, bytesPushed: 0 });
    });

    it('moves a blob larger than the chunk size', async () => {
      const remote = await make();
      const big = randomBytes(3 * 1024 * 1024 + 5);
      const a = await localWith({ big }, 'big');
      const pushed = await (await remote.open({ push: true, chunkSize: 1024 * 1024 })).push('big', [key('big')], a);
      expect(pushed.ok).toBe(true);
      const reader = await remote.open({ image: 'big' });
      const found = await reader.lookup(key('big'));
      const b = new LocalLayerStore(await scratchDir('local-b'));
      const got = found.ok && found.value ? await reader.fetch(found.value, b) : null;
      expect(got?.ok).toBe(true);
      expect((await buffer(await b.openLayer((await b.lookup(key('big'), 'layer/hook'))!))).equals(big)).toBe(true);
    });

    it('rejects a blob damaged in the remote and stores nothing', async () => {
      const remote = await make();
      const data = randomBytes(4096);
      const a = await localWith({ victim: data }, 'victim');
      expect((await (await remote.open({ push: true })).push('victim', [key('victim')], a)).ok).toBe(true);
      const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      await remote.corrupt(digest);
      const reader = await remote.open({ image: 'victim' });
      const found = await reader.lookup(key('victim'));
      expect(found.ok && found.value?.digest).toBe(digest);
      const b = new LocalLayerStore(await scratchDir('local-b'));
      const got = found.ok && found.value ? await reader.fetch(found.value, b) : null;
      expect(got?.ok).toBe(false);
      expect(got && !got.ok && got.error).toMatchObject({ reason: 'integrity', expected: digest });
      expect(await b.lookup(key('victim'), 'layer/hook')).toBeNull();
      expect(await b.list()).toEqual([]);
    });
  });
}
