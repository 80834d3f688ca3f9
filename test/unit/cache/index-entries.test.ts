import { appendFile, stat, utimes } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Integrity } from '../../../src/cache/digest.js';
import { bucketPath, formatLine } from '../../../src/cache/index-bucket.js';
import { get, ls, put, rm } from '../../../src/cache/index-entries.js';
import { scratchDir } from '../../support/run-dir.js';

const sri = (s: string) => `sha256-${createHash('sha256').update(s).digest('base64')}` as Integrity;

describe('index entries', () => {
  it('puts and gets; the newest record wins; rm hides the key', async () => {
    const cache = await scratchDir('index');
    expect(await get(cache, 'k')).toBeNull();
    await put(cache, 'k', { integrity: sri('1'), descriptor: sri('d1'), size: 1 });
    await put(cache, 'k', { integrity: sri('2'), descriptor: sri('d2'), size: 2 });
    expect(await get(cache, 'k')).toMatchObject({ key: 'k', integrity: sri('2'), descriptor: sri('d2'), size: 2 });
    await rm(cache, 'k');
    expect(await get(cache, 'k')).toBeNull();
    expect((await ls(cache)).entries).toEqual([]);
  });

  it('never trusts a line that fails its checksum: the previous valid one stands', async () => {
    const cache = await scratchDir('index');
    await put(cache, 'k', { integrity: sri('good'), descriptor: sri('d'), size: 4 });
    const forged = formatLine({ key: 'k', integrity: sri('evil'), descriptor: sri('d'), size: 4, time: Date.now() }).replace(/^\n[0-9a-f]/, '\n_');
    await appendFile(bucketPath(cache, 'k'), forged);
    expect((await get(cache, 'k'))?.integrity).toBe(sri('good'));
    expect((await ls(cache)).badLines).toBe(1);
  });

  it('records a hit as the last use', async () => {
    const cache = await scratchDir('index');
    await put(cache, 'k', { integrity: sri('x'), descriptor: sri('d'), size: 1 });
    const old = new Date(Date.now() - 3_600_000);
    await utimes(bucketPath(cache, 'k'), old, old);
    const quiet = await get(cache, 'k', { touch: false });
    // utimes goes through floating-point seconds: allow a millisecond.
    expect(Math.abs(quiet!.lastUse - old.getTime())).toBeLessThanOrEqual(1);
    expect(Math.abs((await ls(cache)).entries[0]!.lastUse - old.getTime())).toBeLessThanOrEqual(1);
    const hit = await get(cache, 'k');
    expect(Date.now() - hit!.lastUse).toBeLessThan(60_000);
    expect((await stat(bucketPath(cache, 'k'))).mtimeMs).toBeGreaterThan(old.getTime() + 3_000_000);
    expect((await ls(cache)).entries[0]!.lastUse).toBeGreaterThan(old.getTime() + 3_000_000);
  });

  it('lists every live entry with size, last use and descriptor', async () => {
    const cache = await scratchDir('index');
    await put(cache, 'a', { integrity: sri('a'), descriptor: sri('da'), size: 10 });
    await put(cache, 'b', { integrity: sri('b'), descriptor: sri('db'), size: 20 });
    await rm(cache, 'b');
    await put(cache, 'c', { integrity: sri('c'), descriptor: sri('dc'), size: 30 });
    const { entries, badLines } = await ls(cache);
    expect(badLines).toBe(0);
    expect(entries.map((e) => [e.key, e.size]).sort()).toEqual([['a', 10], ['c', 30]]);
    expect(entries.find((e) => e.key === 'a')).toMatchObject({ integrity: sri('a'), descriptor: sri('da') });
    for (const e of entries) expect(e.lastUse).toBeGreaterThan(0);
  });
});
