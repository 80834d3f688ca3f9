import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFile } from '../../../src/util/hash-file.js';
import { sharedBuffer, streamHasher, THREAD_MIN_BYTES } from '../../../src/util/hash-threads.js';
import { scratchDir } from '../../support/run-dir.js';

const ALGORITHMS = ['sha256', 'sha512', 'md5'];
const expected = (parts: Uint8Array[]) =>
  Object.fromEntries(ALGORITHMS.map((a) => [a, parts.reduce((h, p) => h.update(p), createHash(a)).digest('hex')]));

/** Bytes that differ at every position, so a lost, repeated or reordered chunk shows. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >> 11)) & 0xff;
  return b;
}

describe('streamHasher', () => {
  it('hashes inline below the threshold and on threads above it, with the same digests', async () => {
    const parts = [pattern(3_000_000, 1), pattern(100, 2), pattern(5 << 20, 3), Buffer.alloc(0), pattern(777_777, 4)];
    const inline = streamHasher(ALGORITHMS, 1);
    const threaded = streamHasher(ALGORITHMS, THREAD_MIN_BYTES);
    expect([inline.threaded, threaded.threaded]).toEqual([false, true]);
    for (const p of parts) {
      await inline.update(p);
      await threaded.update(p);
    }
    expect(await inline.digests()).toEqual(expected(parts));
    expect(await threaded.digests()).toEqual(expected(parts));
  });

  it('takes shared chunks without copying and plain ones by copy, in order', async () => {
    const parts: Uint8Array[] = [];
    const h = streamHasher(['sha256'], THREAD_MIN_BYTES);
    for (let i = 0; i < 40; i++) {
      // Alternate 2 MiB shared chunks with runs of small plain ones (zstd's 128 KiB).
      const big = sharedBuffer(2 << 20);
      pattern(2 << 20, i).copy(big);
      parts.push(big);
      await h.update(big);
      for (let j = 0; j < 5; j++) {
        const small = pattern(131_072 + j, i * 10 + j);
        parts.push(Buffer.from(small));
        await h.update(small);
        small.fill(0); // the caller may reuse a plain chunk at once
      }
    }
    expect((await h.digests()).sha256).toBe(createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
  });
});

describe('hashFile', () => {
  it('gives the same hashes as node:crypto for a file large enough to be hashed on threads', async () => {
    const file = path.join(await scratchDir('hash-file'), 'big');
    const data = pattern(THREAD_MIN_BYTES + 4 * 1024 * 1024 + 12345, 9);
    await writeFile(file, data);
    const h = await hashFile(file);
    expect(h).toEqual({ size: data.length, ...expected([data]) });
  });
});
