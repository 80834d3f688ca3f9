// The conformance suite every LayerStore must pass (local now, an OCI
// registry later): call registerStoreTests(name, makeStore) from a test file.
// `makeStore` returns a fresh, empty store each time.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import type { LayerKey } from '../../../src/cache/digest.js';
import type { LayerStore } from '../../../src/cache/store.js';

export function key(n: number | string): LayerKey {
  return `sha256:${createHash('sha256').update(String(n)).digest('hex')}` as LayerKey;
}

export function registerStoreTests(name: string, makeStore: () => Promise<LayerStore>): void {
  describe(`LayerStore conformance: ${name}`, () => {
    it('misses a key it never stored', async () => {
      const store = await makeStore();
      expect(await store.lookup(key('nothing'), 'layer/hook')).toBeNull();
      expect(await store.list()).toEqual([]);
    });

    it('stores a layer and finds it with its size, metadata and sha256', async () => {
      const store = await makeStore();
      const data = Buffer.from('layer bytes\n');
      const put = await store.putLayer(key(1), 'layer/hook', data, { image: 'img', step: 'a/install.d/10-x', mediaType: 'm' });
      const found = await store.lookup(key(1), 'layer/hook');
      expect(found).not.toBeNull();
      expect(found!.key).toBe(key(1));
      expect(found!.integrity).toBe(put.integrity);
      expect(found!.size).toBe(data.length);
      expect(found!.metadata).toMatchObject({ image: 'img', step: 'a/install.d/10-x', mediaType: 'm' });
      expect(found!.metadata.digest).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
      expect(await text(await store.openLayer(found!))).toBe('layer bytes\n');
    });

    it('finds an entry only as the kind it was stored as', async () => {
      const store = await makeStore();
      await store.putLayer(key(1), 'layer/base', Buffer.from('base'), {});
      expect(await store.lookup(key(1), 'layer/hook')).toBeNull();
      expect((await store.lookup(key(1), 'layer/base'))?.kind).toBe('layer/base');
      expect((await store.lookup(key(1), 'any'))?.kind).toBe('layer/base');
    });

    it('stores a large layer from a stream, byte for byte', async () => {
      const store = await makeStore();
      const data = Buffer.alloc(5 * 1024 * 1024 + 3);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
      const entry = await store.putLayer(key('big'), 'layer/hook', Readable.from(chunks(data, 65536)), {});
      expect(entry.size).toBe(data.length);
      const back = await buffer(await store.openLayer((await store.lookup(key('big'), 'layer/hook'))!));
      expect(back.equals(data)).toBe(true);
    });

    it('lets the newest put of a key win, and two keys share one blob', async () => {
      const store = await makeStore();
      await store.putLayer(key(1), 'layer/hook', Buffer.from('old'), { step: 'old' });
      await store.putLayer(key(1), 'layer/hook', Buffer.from('new'), { step: 'new' });
      await store.putLayer(key(2), 'layer/hook', Buffer.from('new'), { step: 'other' });
      const one = (await store.lookup(key(1), 'layer/hook'))!;
      expect(one.metadata.step).toBe('new');
      expect(await text(await store.openLayer(one))).toBe('new');
      expect((await store.lookup(key(2), 'layer/hook'))!.integrity).toBe(one.integrity);
      expect((await store.list()).map((e) => e.key).sort()).toEqual([key(1), key(2)].sort());
    });

    it('forgets a removed key', async () => {
      const store = await makeStore();
      await store.putLayer(key(1), 'layer/hook', Buffer.from('x'), {});
      await store.putLayer(key(2), 'layer/hook', Buffer.from('y'), {});
      await store.remove(key(1));
      expect(await store.lookup(key(1), 'layer/hook')).toBeNull();
      expect((await store.list()).map((e) => e.key)).toEqual([key(2)]);
      await store.putLayer(key(1), 'layer/hook', Buffer.from('x again'), {});
      expect(await text(await store.openLayer((await store.lookup(key(1), 'layer/hook'))!))).toBe('x again');
    });

    it('counts a lookup as a use', async () => {
      const store = await makeStore();
      const put = await store.putLayer(key(1), 'layer/hook', Buffer.from('x'), {});
      await new Promise((r) => setTimeout(r, 20));
      const found = (await store.lookup(key(1), 'layer/hook'))!;
      expect(found.lastUse).toBeGreaterThan(put.time);
      const listed = (await store.list())[0]!;
      expect(listed.lastUse).toBeGreaterThanOrEqual(Math.floor(found.lastUse) - 1);
    });

    it('runs one holder of a key lock at a time; the waiter then finds the entry', async () => {
      const store = await makeStore();
      const events: string[] = [];
      let builds = 0;
      const buildOnce = (who: string) =>
        store.withKeyLock(key('L'), async () => {
          events.push(`${who} in`);
          const hit = await store.lookup(key('L'), 'layer/hook');
          if (!hit) {
            builds++;
            await new Promise((r) => setTimeout(r, 50));
            await store.putLayer(key('L'), 'layer/hook', Buffer.from(who), {});
          }
          events.push(`${who} out`);
          return hit ? 'hit' : 'built';
        });
      const results = await Promise.all([buildOnce('a'), buildOnce('b')]);
      expect(builds).toBe(1);
      expect(results.sort()).toEqual(['built', 'hit']);
      expect(events[0]!.endsWith('in')).toBe(true);
      expect(events[1]!.endsWith('out')).toBe(true);
      expect(events[0]!.split(' ')[0]).toBe(events[1]!.split(' ')[0]);
    });

    it('releases a key lock when the holder throws, and refuses re-entry', async () => {
      const store = await makeStore();
      await expect(store.withKeyLock(key('E'), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await store.withKeyLock(key('E'), async () => 'again')).toBe('again');
      await expect(store.withKeyLock(key('E'), () => store.withKeyLock(key('E'), async () => 1))).rejects.toThrow(/deadlock/);
      // Different keys nest fine.
      expect(await store.withKeyLock(key('E'), () => store.withKeyLock(key('F'), async () => 2))).toBe(2);
    });
  });
}

function* chunks(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}
