import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inodesFor, journalBytes, measureTree, rootFsSize } from '../../../src/image/size.js';
import { MIB } from '../../../src/image/layout.js';
import { scratchDir } from '../../support/run-dir.js';

describe('tree sizing', () => {
  it('measures apparent size and entries with du', async () => {
    const dir = await scratchDir('size');
    await mkdir(path.join(dir, 'a'));
    await writeFile(path.join(dir, 'a', 'f'), Buffer.alloc(100_000));
    await writeFile(path.join(dir, 'g'), 'x');
    const r = await measureTree(dir);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.value.entries).toBe(4);
    expect(r.value.apparentBytes).toBeGreaterThanOrEqual(100_001);
    expect(r.value.apparentBytes).toBeLessThan(100_001 + 3 * 4096 + 1);
  });

  it('adds inode headroom: a quarter more, at least 8192 spare, in 1024s', () => {
    expect(inodesFor(100)).toBe(9216);
    expect(inodesFor(100_000)).toBe(125_952);
  });

  it('follows mke2fs journal sizes', () => {
    expect(journalBytes(1000)).toBe(0);
    expect(journalBytes(262144)).toBe(32 * MIB);
    expect(journalBytes(1_000_000)).toBe(64 * MIB);
  });

  it('sizes the root fs from data, inodes, headroom, journal and extraSize', () => {
    const base = rootFsSize({ apparentBytes: 700 * MIB, entries: 16_000 });
    expect(base.inodes).toBe(24_576);
    expect(base.bytes % MIB).toBe(0);
    // 700 MiB + 16000 * 2 KiB + 24576 * 256 B, +15 %, +1 %, +16 MiB journal (mke2fs for < 1 GiB)
    expect(base.bytes / MIB).toBe(Math.ceil(((700 * MIB + 16_000 * 2048 + 24_576 * 256) * 1.15 * 1.01 + 16 * MIB) / MIB));
    const extra = rootFsSize({ apparentBytes: 700 * MIB, entries: 16_000 }, { extraSize: 256 * MIB });
    expect(extra.bytes - base.bytes).toBe(256 * MIB);
    const none = rootFsSize({ apparentBytes: 700 * MIB, entries: 16_000 }, { headroomPercent: 0 });
    expect(none.bytes).toBeLessThan(base.bytes);
    expect(rootFsSize({ apparentBytes: 10, entries: 1 }).bytes).toBe(16 * MIB);
  });
});
