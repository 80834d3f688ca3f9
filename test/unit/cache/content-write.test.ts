import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { blobPath, integrityFromHex } from '../../../src/cache/content-path.js';
import { writeBlob } from '../../../src/cache/content-write.js';
import type { Integrity } from '../../../src/cache/digest.js';
import { TMP_DIR } from '../../../src/cache/format.js';
import { IntegrityError } from '../../../src/cache/integrity-error.js';
import { scratchDir } from '../../support/run-dir.js';

const isIntegrityError = (err: unknown): boolean => err instanceof IntegrityError || (err as { code?: unknown } | null)?.code === 'EINTEGRITY';

describe('writeBlob', () => {
  it('stores bytes at the path their sha256 names, with the same sha256 as their OCI digest', async () => {
    const cache = await scratchDir('content');
    const data = Buffer.from('hello blob');
    const w = await writeBlob(cache, data);
    const sha256 = createHash('sha256').update(data);
    expect(w.integrity).toBe(`sha256-${sha256.copy().digest('base64')}`);
    expect(w.size).toBe(data.length);
    const hex = sha256.digest('hex');
    expect(w.digest).toBe(`sha256:${hex}`);
    const file = path.join(cache, 'content-v2', 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
    expect(blobPath(cache, w.integrity)).toBe(file);
    expect(await readFile(file)).toEqual(data);
    expect(await readdir(path.join(cache, TMP_DIR))).toEqual([]);
  });

  it('accepts streams, async iterables of strings, and empty input', async () => {
    const cache = await scratchDir('content');
    const a = await writeBlob(cache, Readable.from([Buffer.from('ab'), Buffer.from('c')]));
    const b = await writeBlob(cache, (async function* () {
      yield 'a';
      yield 'bc';
    })());
    expect(a.integrity).toBe(b.integrity);
    const empty = await writeBlob(cache, Buffer.alloc(0));
    expect(empty.size).toBe(0);
    expect((await stat(blobPath(cache, empty.integrity))).size).toBe(0);
  });

  it('lets many concurrent writers of the same content all succeed', async () => {
    const cache = await scratchDir('content');
    const data = Buffer.alloc(1 << 20, 7);
    const results = await Promise.all(Array.from({ length: 8 }, () => writeBlob(cache, Readable.from([data]))));
    expect(new Set(results.map((r) => r.integrity)).size).toBe(1);
    expect((await readFile(blobPath(cache, results[0]!.integrity))).equals(data)).toBe(true);
    expect(await readdir(path.join(cache, TMP_DIR))).toEqual([]);
  });

  it('refuses bytes that do not match an expected integrity and leaves nothing behind', async () => {
    const cache = await scratchDir('content');
    const other = (await writeBlob(await scratchDir('content'), Buffer.from('other'))).integrity;
    const err = await writeBlob(cache, Buffer.from('this'), { expected: other as Integrity }).catch((e: unknown) => e);
    expect(isIntegrityError(err)).toBe(true);
    expect(await readdir(path.join(cache, TMP_DIR))).toEqual([]);
    await expect(stat(blobPath(cache, other))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('removes its temp file when the source fails', async () => {
    const cache = await scratchDir('content');
    const failing = (async function* () {
      yield Buffer.from('partial');
      throw new Error('source broke');
    })();
    await expect(writeBlob(cache, failing)).rejects.toThrow('source broke');
    expect(await readdir(path.join(cache, TMP_DIR))).toEqual([]);
  });

  it('stores a file its writer already hashed by copying it, under the same address as hashing it would give', async () => {
    const cache = await scratchDir('content');
    const file = path.join(await scratchDir('content-src'), 'out.tar');
    const data = Buffer.alloc(300_000, 7);
    await writeFile(file, data);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const w = await writeBlob(cache, { path: file, size: data.length, sha256 });
    expect(w).toEqual(await writeBlob(await scratchDir('content'), data));
    expect(await readFile(blobPath(cache, w.integrity))).toEqual(data);
    expect(await readdir(path.join(cache, TMP_DIR))).toEqual([]);
  });

  it('moves in a hashed file its writer gives up (owned), and leaves a file it does not own where it was', async () => {
    const cache = await scratchDir('content');
    const src = await scratchDir('content-src');
    const data = Buffer.alloc(100_000, 9);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const [owned, kept] = [path.join(src, 'owned.tar.zst'), path.join(src, 'kept.tar.zst')];
    await writeFile(owned, data);
    await writeFile(kept, data);
    const inode = (await stat(owned)).ino;
    const w = await writeBlob(cache, { path: owned, size: data.length, sha256, owned: true });
    expect((await stat(blobPath(cache, w.integrity))).ino).toBe(inode);
    await expect(stat(owned)).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await writeBlob(await scratchDir('content'), { path: kept, size: data.length, sha256 });
    expect(again.integrity).toBe(w.integrity);
    expect(await readFile(kept)).toEqual(data);
    expect(await readdir(path.join(cache, TMP_DIR))).toEqual([]);
  });

  it('stores nothing when a hashed file is not what `expected` says, or changed size since it was hashed', async () => {
    const cache = await scratchDir('content');
    const file = path.join(await scratchDir('content-src'), 'out.tar');
    await writeFile(file, 'abc');
    const hashed = { path: file, size: 3, sha256: createHash('sha256').update('abc').digest('hex') };
    const other = (await writeBlob(await scratchDir('content'), Buffer.from('xyz'))).integrity;
    await expect(writeBlob(cache, hashed, { expected: other })).rejects.toSatisfy(isIntegrityError);
    await writeFile(file, 'abcd');
    await expect(writeBlob(cache, hashed)).rejects.toThrow(/changed while it was stored/);
    expect(await readdir(path.join(cache, TMP_DIR))).toEqual([]);
    await expect(stat(blobPath(cache, integrityFromHex(hashed.sha256)))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
