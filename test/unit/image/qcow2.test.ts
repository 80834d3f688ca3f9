// The qcow2 writer against QEMU itself: `qemu-img check` finds no error or
// leak in what it writes (refcounts, L1/L2, compressed cluster entries), and
// `qemu-img compare` reads back the raw disk it was written from, for both
// codecs; the bytes do not depend on how many threads compressed them.
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexOf, sha256File } from '../../../src/cache/digest.js';
import { CLUSTER_SIZE, writeQcow2 } from '../../../src/image/qcow2.js';
import { MIB } from '../../../src/image/layout.js';
import { scratchDir } from '../../support/run-dir.js';

/**
 * A raw disk with every kind of cluster: text that compresses, random bytes
 * that do not (written plain), runs of one byte, zeros (left unallocated),
 * data past the first L2 table's 512 MiB, and a size that is no whole number
 * of clusters.
 */
async function rawDisk(): Promise<string> {
  const file = path.join(await scratchDir('qcow2'), 'disk.raw');
  const f = await open(file, 'w');
  const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i} of a file in the tree\n`).join(''));
  await f.write(text, 0, text.length, 3 * 4096);
  await f.write(randomBytes(5 * CLUSTER_SIZE + 777), 0, undefined, 20 * MIB + 512);
  await f.write(Buffer.alloc(3 * CLUSTER_SIZE, 0xff), 0, undefined, 30 * MIB);
  await f.write(text, 0, 200_000, 530 * MIB + 12_345);
  await f.close();
  await truncate(file, 600 * MIB + 3 * 512);
  await open(file, 'r+').then(async (g) => {
    await g.write(Buffer.from('end'), 0, 3, 600 * MIB + 3 * 512 - 3);
    await g.close();
  });
  return file;
}

async function qemuCheck(file: string): Promise<{ exitCode: number | undefined; stdout: string }> {
  const r = await execa('qemu-img', ['check', '-f', 'qcow2', file], { reject: false });
  return { exitCode: r.exitCode, stdout: r.stdout + r.stderr };
}

describe('writeQcow2', () => {
  it.each(['zstd', 'zlib'] as const)('writes a %s qcow2 that qemu-img checks clean and reads back as the raw disk', async (codec) => {
    const raw = await rawDisk();
    const out = `${raw}.${codec}.qcow2`;
    await writeQcow2({ raw, out, codec, threads: 2 });

    const check = await qemuCheck(out);
    expect(check.stdout).toContain('No errors were found on the image.');
    expect(check.exitCode).toBe(0);
    // Both kinds of allocated cluster are there: compressed ones and the random (plain) ones.
    expect(check.stdout).toMatch(/allocated, .* compressed clusters/);
    // QEMU 7.2's map gives no host offset for compressed data.
    const map = JSON.parse((await execa('qemu-img', ['map', '--output=json', '-f', 'qcow2', out])).stdout) as Array<{ data: boolean; offset?: number }>;
    expect(map.some((m) => m.data && m.offset === undefined)).toBe(true);
    expect(map.some((m) => m.data && m.offset !== undefined)).toBe(true);

    const compare = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, out], { reject: false });
    expect(compare.stdout).toContain('Images are identical.');
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', out])).stdout) as { 'virtual-size': number; 'format-specific': { data: { 'compression-type': string; compat: string } } };
    expect(info['virtual-size']).toBe(600 * MIB + 3 * 512);
    expect(info['format-specific'].data).toMatchObject({ 'compression-type': codec, compat: '1.1' });
  });

  it('writes the same bytes on this thread, on one thread and on three', async () => {
    const raw = await rawDisk();
    const sums = new Set<string>();
    for (const threads of [0, 1, 3]) {
      const out = `${raw}.t${threads}.qcow2`;
      await writeQcow2({ raw, out, codec: 'zstd', threads });
      sums.add(hexOf(await sha256File(out)));
    }
    expect(sums.size).toBe(1);
  });

  it('takes unchanged clusters from an earlier file and its index, and writes what it writes without one', async () => {
    const raw = await rawDisk();
    const first = `${raw}.first.qcow2`;
    const w1 = await writeQcow2({ raw, out: first, codec: 'zstd', threads: 2, indexOut: `${first}.index` });
    expect(w1.reused).toBe(0);
    // The first cluster's bytes change; in the earlier file, the compressed bytes of
    // another are damaged, and two index entries point at each other's (valid) bytes.
    await open(raw, 'r+').then(async (f) => {
      await f.write(Buffer.from('changed'), 0, 7, 3 * 4096 + 100);
      await f.close();
    });
    const index = await readFile(`${first}.index`);
    const entries = index.subarray(index.indexOf(10) + 1);
    const damagedAt = Number(entries.readBigUInt64BE(44 * 8 + 32));
    await open(first, 'r+').then(async (f) => {
      await f.write(Buffer.from('garbage!'), 0, 8, damagedAt + 3);
      await f.close();
    });
    const where5 = Buffer.from(entries.subarray(44 * 5 + 32, 44 * 6));
    entries.subarray(44 * 6 + 32, 44 * 7).copy(entries, 44 * 5 + 32);
    where5.copy(entries, 44 * 6 + 32);
    await writeFile(`${first}.index`, index);

    const fresh = `${raw}.fresh.qcow2`;
    await writeQcow2({ raw, out: fresh, codec: 'zstd', threads: 2 });
    const again = `${raw}.again.qcow2`;
    const w2 = await writeQcow2({ raw, out: again, codec: 'zstd', threads: 2, reuse: { qcow2: first, index: `${first}.index` } });
    expect(hexOf(await sha256File(again))).toBe(hexOf(await sha256File(fresh)));
    // All but the changed, the damaged and the two misplaced clusters came from the earlier file.
    expect(w2.reused).toBe(w2.compressed - 4);
    // An index written for another codec is not used at all.
    const zlib = `${raw}.zlib.qcow2`;
    const w3 = await writeQcow2({ raw, out: zlib, codec: 'zlib', threads: 1, reuse: { qcow2: first, index: `${first}.index` } });
    expect(w3.reused).toBe(0);
    expect((await qemuCheck(zlib)).exitCode).toBe(0);
  });

  it('writes an all-zero disk as an empty image', async () => {
    const file = path.join(await scratchDir('qcow2-zero'), 'zero.raw');
    await open(file, 'w').then((f) => f.close());
    await truncate(file, 8 * MIB);
    const out = `${file}.qcow2`;
    await writeQcow2({ raw: file, out, codec: 'zstd' });
    expect((await qemuCheck(out)).exitCode).toBe(0);
    const map = JSON.parse((await execa('qemu-img', ['map', '--output=json', '-f', 'qcow2', out])).stdout) as Array<{ data: boolean }>;
    expect(map.every((m) => !m.data)).toBe(true);
  });
});
