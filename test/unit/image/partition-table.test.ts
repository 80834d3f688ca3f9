import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadLayout } from '../../../src/image/layout-load.js';
import { MIB, type Layout } from '../../../src/image/layout.js';
import { planDisk } from '../../../src/image/partition-plan.js';
import { sfdiskScript, writePartitionTable } from '../../../src/image/partition-table.js';
import { readPartitionTable } from '../../support/partition-table.js';
import { imageIds } from '../../../src/image/seed.js';
import { scratchDir } from '../../support/run-dir.js';

async function builtin(name: string): Promise<Layout> {
  const r = await loadLayout(name);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

async function written(name: string, size: number) {
  const layout = await builtin(name);
  const plan = planDisk(layout, size);
  if (!plan.ok) throw new Error('plan');
  const file = path.join(await scratchDir(`table-${name}`), 'disk.raw');
  await writeFile(file, '');
  await truncate(file, size);
  const ids = imageIds('seed-1');
  const w = await writePartitionTable(file, layout, plan.value, ids);
  if (!w.ok) throw new Error(JSON.stringify(w.error));
  const dump = await readPartitionTable(file);
  return { file, ids, dump, script: sfdiskScript(layout, plan.value, ids) };
}

describe('partition table in an image file', () => {
  it('writes the efi layout as GPT with seeded GUIDs, names and the legacy boot attribute', async () => {
    const { dump, ids } = await written('efi', 1024 * MIB);
    expect(dump.label).toBe('gpt');
    expect(dump.id).toBe(ids.diskGuid.toUpperCase());
    expect(dump.partitions.map((p) => [p.start, p.size, p.type, p.name, p.attrs ?? ''])).toEqual([
      [2048, 409600, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'ESP', ''],
      [411648, 2048, '21686148-6449-6E6F-744E-656564454649', 'BSP', ''],
      [413696, (1024 - 202 - 1) * 2048, '0FC63DAF-8483-4772-8E79-3D69D8477DE4', 'root', 'LegacyBIOSBootable'],
    ]);
    expect(dump.partitions[2]!.uuid).toBe(ids.partitionGuid('root').toUpperCase());
  });

  it('writes the mbr layout with the boot flag and a seeded disk id', async () => {
    const { dump, ids, file } = await written('mbr', 64 * MIB);
    expect(dump.label).toBe('dos');
    expect(dump.id).toBe(`0x${ids.mbrId}`);
    expect(dump.partitions).toEqual([expect.objectContaining({ start: 2048, size: 63 * 2048, type: '83', bootable: true })]);
    const text = (await execa('sfdisk', ['--dump', file])).stdout;
    expect(text).toMatch(/start=\s*2048, size=\s*129024, type=83, bootable/);
  });

  it('gives the same bytes for the same seed', async () => {
    const a = await written('efi', 256 * MIB);
    const b = await written('efi', 256 * MIB);
    const sum = async (f: string) => (await execa('sha256sum', [f])).stdout.split(' ')[0];
    expect(await sum(a.file)).toBe(await sum(b.file));
    expect(a.script).toBe(b.script);
  });
});
