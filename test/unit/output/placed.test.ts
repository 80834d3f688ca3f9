// The record of what an output file holds must stop matching the moment the
// file changes in any way: a stale match would keep a user's edited file in
// place of the cached output.
import { appendFile, rename, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { placedSha256, recordPlaced } from '../../../src/output/placed.js';
import { scratchDir } from '../../support/run-dir.js';

const SHA = 'a'.repeat(64);

async function placedFile(): Promise<string> {
  const file = path.join(await scratchDir('placed'), 'img.tar');
  await writeFile(file, 'original bytes');
  await recordPlaced(file, SHA);
  return file;
}

describe('placed output records', () => {
  it('answers the recorded sha256 while the file is untouched', async () => {
    const file = await placedFile();
    expect(await placedSha256(file)).toBe(SHA);
    expect(await placedSha256(file)).toBe(SHA);
  });

  it('has no answer without a record', async () => {
    const file = path.join(await scratchDir('placed'), 'none.tar');
    await writeFile(file, 'x');
    expect(await placedSha256(file)).toBeNull();
  });

  it('stops matching when the file is rewritten with bytes of the same size', async () => {
    const file = await placedFile();
    await writeFile(file, 'ORIGINAL BYTES');
    expect(await placedSha256(file)).toBeNull();
  });

  it('stops matching when the file grows', async () => {
    const file = await placedFile();
    await appendFile(file, '!');
    expect(await placedSha256(file)).toBeNull();
  });

  it('stops matching when only the timestamps are set back', async () => {
    const file = await placedFile();
    await utimes(file, 0, 0);
    expect(await placedSha256(file)).toBeNull();
  });

  it('stops matching when another file is renamed over it', async () => {
    const file = await placedFile();
    const other = `${file}.new`;
    await writeFile(other, 'original bytes');
    await rename(other, file);
    expect(await placedSha256(file)).toBeNull();
  });

  it('has no answer when the record is garbage', async () => {
    const file = await placedFile();
    await writeFile(path.join(path.dirname(file), `.${path.basename(file)}.placed`), '{not json');
    expect(await placedSha256(file)).toBeNull();
  });
});
