import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Integrity } from '../../../src/cache/digest.js';
import { appendRecord, bucketPath, formatLine, parseBucket, readBucket, type IndexRecord } from '../../../src/cache/index-bucket.js';
import { scratchDir } from '../../support/run-dir.js';

const INTEGRITY = `sha256-${createHash('sha256').update('x').digest('base64')}` as Integrity;
const record = (key: string, extra: Partial<IndexRecord> = {}): IndexRecord => ({
  key,
  integrity: INTEGRITY,
  descriptor: INTEGRITY,
  size: 1,
  time: 1700000000000,
  ...extra,
});

describe('index buckets', () => {
  it('lives at index-v3/<2 hex>/<2 hex>/<sha256(key)>', async () => {
    const h = createHash('sha256').update('my-key').digest('hex');
    expect(bucketPath('/c', 'my-key')).toBe(path.join('/c/index-v3', h.slice(0, 2), h.slice(2, 4), h));
  });

  it('writes "\\n<sha1(json)>\\t<json>" lines', () => {
    const line = formatLine(record('k'));
    const json = JSON.stringify(record('k'));
    expect(line).toBe(`\n${createHash('sha1').update(json).digest('hex')}\t${json}`);
  });

  it('skips lines whose checksum or shape is wrong, and torn lines', () => {
    const good = formatLine(record('a'));
    const tampered = formatLine(record('b')).replace('"size":1', '"size":2');
    const badShape = (() => {
      const json = JSON.stringify({ key: 'c', integrity: 'not-an-integrity', size: 1, time: 1, metadata: {} });
      return `\n${createHash('sha1').update(json).digest('hex')}\t${json}`;
    })();
    const torn = formatLine(record('d')).slice(0, 40);
    const parsed = parseBucket(good + tampered + badShape + torn + formatLine(record('e')));
    expect(parsed.records.map((r) => r.key)).toEqual(['a', 'e']);
    expect(parsed.badLines).toBe(3);
  });

  it('appends records and reads them back in order; a torn tail does not swallow the next append', async () => {
    const cache = await scratchDir('bucket');
    await appendRecord(cache, record('k', { size: 1 }));
    await appendFile(bucketPath(cache, 'k'), formatLine(record('k', { size: 2 })).slice(0, 30));
    await appendRecord(cache, record('k', { size: 3 }));
    const { records, badLines } = await readBucket(bucketPath(cache, 'k'));
    expect(records.map((r) => r.size)).toEqual([1, 3]);
    expect(badLines).toBe(1);
    expect((await readFile(bucketPath(cache, 'k'), 'utf8')).startsWith('\n')).toBe(true);
  });

  it('reads a missing bucket as empty and keeps deletion records', async () => {
    const cache = await scratchDir('bucket');
    expect(await readBucket(bucketPath(cache, 'none'))).toEqual({ records: [], badLines: 0 });
    await writeFile(bucketPath(cache, 'none').replace(/[^/]+$/, 'x'), '').catch(() => undefined);
    await appendRecord(cache, record('k', { integrity: null, descriptor: null, size: 0 }));
    expect((await readBucket(bucketPath(cache, 'k'))).records[0]?.integrity).toBeNull();
  });
});
