import { readFile, stat, writeFile, rename } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { blobPath } from '../../../src/cache/content-path.js';
import { readBlob, verifyBlob } from '../../../src/cache/content-read.js';
import { writeBlob } from '../../../src/cache/content-write.js';
import { IntegrityError } from '../../../src/cache/integrity-error.js';
import { scratchDir } from '../../support/run-dir.js';

describe('readBlob', () => {
  it('streams a good blob', async () => {
    const cache = await scratchDir('read');
    const data = Buffer.alloc(2_000_000, 'q');
    const w = await writeBlob(cache, data);
    expect((await buffer(readBlob(cache, w.integrity))).equals(data)).toBe(true);
  });

  it('errors with EINTEGRITY on a flipped byte and removes the damaged blob', async () => {
    const cache = await scratchDir('read');
    const w = await writeBlob(cache, Buffer.from('some layer'));
    const file = blobPath(cache, w.integrity);
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 0x80;
    await writeFile(file, bytes);
    const err = await buffer(readBlob(cache, w.integrity)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).code).toBe('EINTEGRITY');
    expect((err as IntegrityError).expected).toBe(w.integrity);
    expect((err as IntegrityError).failure.reason).toBe('integrity');
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not remove a good copy renamed into place after the damaged one was opened', async () => {
    const cache = await scratchDir('read');
    const data = Buffer.from('x'.repeat(100));
    const w = await writeBlob(cache, data);
    const file = blobPath(cache, w.integrity);
    await writeFile(file, 'y'.repeat(100));
    const stream = readBlob(cache, w.integrity);
    // The check may fail before buffer() below listens (100 bytes need no
    // reader to reach the end); buffer() still sees the stored error.
    stream.on('error', () => undefined);
    await new Promise((r) => stream.once('readable', r));
    // A writer puts a good copy in place while the damaged one is being read.
    await writeFile(`${file}.new`, data);
    await rename(`${file}.new`, file);
    await expect(buffer(stream)).rejects.toMatchObject({ code: 'EINTEGRITY' });
    expect(await readFile(file)).toEqual(data);
  });

  it('errors with ENOENT for a missing blob', async () => {
    const cache = await scratchDir('read');
    const w = await writeBlob(await scratchDir('elsewhere'), Buffer.from('nope'));
    await expect(buffer(readBlob(cache, w.integrity))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('verifyBlob', () => {
  it('gives the path of a good blob, an integrity failure for a bad one, io for a missing one', async () => {
    const cache = await scratchDir('verify-blob');
    const w = await writeBlob(cache, Buffer.from('good'));
    expect(await verifyBlob(cache, w.integrity)).toEqual({ ok: true, value: { path: blobPath(cache, w.integrity), size: 4 } });
    await writeFile(blobPath(cache, w.integrity), 'bad!');
    const bad = await verifyBlob(cache, w.integrity);
    expect(bad.ok ? null : bad.error.reason).toBe('integrity');
    const missing = await verifyBlob(cache, w.integrity);
    expect(missing.ok ? null : missing.error.reason).toBe('io');
  });
});
