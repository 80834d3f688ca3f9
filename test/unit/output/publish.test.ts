import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { placedSha256 } from '../../../src/output/placed.js';
import { publishFile, publishStream, removeAbandoned } from '../../../src/output/publish.js';
import { TEMP_MARK, tempNameOwner, tempPathFor } from '../../../src/util/atomic-write.js';
import { scratchDir } from '../../support/run-dir.js';

const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const bytes = Buffer.from('the same output bytes\n');
const sha256 = createHash('sha256').update(bytes).digest('hex');

/** Every file of a directory with its contents (placed records: whether they vouch for the file). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    out[name] = name.endsWith('.placed') ? String(await placedSha256(path.join(dir, name.slice(1, -'.placed'.length)))) : await readFile(path.join(dir, name), 'utf8');
  }
  return out;
}

describe('publishFile', () => {
  it('publishes by rename with a sha256sum-style checksum file', async () => {
    const dir = await scratchDir('publish');
    const final = path.join(dir, 'x.raw');
    const tmp = tempPathFor(final);
    await writeFile(tmp, 'abc');
    const r = await publishFile(tmp, final);
    expect(r).toEqual({ sha256: ABC_SHA256, sha512: createHash('sha512').update('abc').digest('hex'), md5: '900150983cd24fb0d6963f7d28e17f72', size: 3 });
    expect(await readFile(`${final}.sha256`, 'utf8')).toBe(`${r.sha256}  x.raw\n`);
    expect((await readdir(dir)).sort()).toEqual(['.x.raw.placed', 'x.raw', 'x.raw.sha256']);
  });

  it('moves a file from a scratch directory, copying it across filesystems', async () => {
    for (const scratch of [await scratchDir('made'), await mkdtemp('/dev/shm/imgfactory-publish-')]) {
      try {
        const made = path.join(scratch, 'x.qcow2');
        await writeFile(made, bytes);
        const dir = await scratchDir('publish');
        const hashes = await publishFile(made, path.join(dir, 'x.qcow2'));
        expect(hashes.sha256).toBe(sha256);
        expect(await readdir(scratch)).toEqual([]);
        expect(await snapshot(dir)).toEqual({ '.x.qcow2.placed': sha256, 'x.qcow2': bytes.toString(), 'x.qcow2.sha256': `${sha256}  x.qcow2\n` });
      } finally {
        if (scratch.startsWith('/dev/shm/')) await rm(scratch, { recursive: true, force: true });
      }
    }
  });
});

describe('publishStream', () => {
  it('publishes cached bytes exactly as a cold build publishes made ones', async () => {
    const cold = await scratchDir('cold');
    const made = tempPathFor(path.join(cold, 'img.tar'));
    await writeFile(made, bytes);
    await publishFile(made, path.join(cold, 'img.tar'));
    const cached = await scratchDir('cached');
    expect(await publishStream(async () => Readable.from([bytes]), path.join(cached, 'img.tar'), sha256)).toBe('written');
    expect(await snapshot(cached)).toEqual(await snapshot(cold));
    expect(await snapshot(cached)).toEqual({ '.img.tar.placed': sha256, 'img.tar': bytes.toString(), 'img.tar.sha256': `${sha256}  img.tar\n` });
  });

  it('keeps an output already in place without opening the blob (the no-op build)', async () => {
    const dir = await scratchDir('noop');
    const final = path.join(dir, 'img.tar');
    await publishStream(async () => Readable.from([bytes]), final, sha256);
    const before = await stat(final, { bigint: true });
    await rm(`${final}.sha256`);
    const opened = await publishStream(async () => {
      throw new Error('opened the blob');
    }, final, sha256);
    expect(opened).toBe('kept');
    expect((await stat(final, { bigint: true })).ino).toBe(before.ino);
    expect((await stat(final, { bigint: true })).ctimeNs).toBe(before.ctimeNs);
    expect(await snapshot(dir)).toEqual({ '.img.tar.placed': sha256, 'img.tar': bytes.toString(), 'img.tar.sha256': `${sha256}  img.tar\n` });
  });

  it('replaces an output whose bytes differ, and leaves the old one and no temp file when the stream fails', async () => {
    const dir = await scratchDir('replace');
    const final = path.join(dir, 'img.tar');
    await writeFile(final, 'older bytes');
    const failing = async (): Promise<Readable> =>
      new Readable({
        read() {
          this.destroy(Object.assign(new Error('integrity'), { code: 'EINTEGRITY' }));
        },
      });
    await expect(publishStream(failing, final, sha256)).rejects.toMatchObject({ code: 'EINTEGRITY' });
    expect(await readdir(dir)).toEqual(['img.tar']);
    expect(await readFile(final, 'utf8')).toBe('older bytes');
    expect(await publishStream(async () => Readable.from([bytes]), final, sha256)).toBe('written');
    expect(await readFile(final)).toEqual(bytes);
  });
});

describe('removeAbandoned', () => {
  it('removes the temp files and dirs of builds that are gone, and nothing else', async () => {
    const dir = await scratchDir('abandoned');
    // A pid that is not running: one past the highest pid the kernel hands out.
    const gone = Number(await readFile('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    const mine = tempPathFor(path.join(dir, 'x.raw'));
    const theirs = path.join(dir, `.x.raw${TEMP_MARK}${gone}-0badcafe`);
    const theirDir = path.join(dir, `.x.images${TEMP_MARK}${gone}-0badcafe`);
    await writeFile(mine, 'mine');
    await writeFile(theirs, 'half');
    await mkdir(theirDir);
    await writeFile(path.join(dir, 'x.raw'), 'done');
    const said = await removeAbandoned(dir);
    expect(said).toHaveLength(2);
    expect((await readdir(dir)).sort()).toEqual([path.basename(mine), 'x.raw'].sort());
    expect(tempNameOwner(path.basename(theirs))).toBe(gone);
    expect(tempNameOwner('x.raw')).toBeNull();
  });
});
