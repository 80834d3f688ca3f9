import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../../src/image/layout-parse.js';
import { loadLayout } from '../../../src/image/layout-load.js';
import { diskSizeFor, planDisk } from '../../../src/image/partition-plan.js';
import { MIB, type Layout } from '../../../src/image/layout.js';

const root = { name: 'root', type: 'linux', filesystem: 'ext4', mountpoint: '/' };

async function builtin(name: string): Promise<Layout> {
  const r = await loadLayout(name);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

function layout(doc: unknown): Layout {
  const r = parseLayout(doc, 'test');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('planDisk', () => {
  it('places the efi layout at 1 MiB boundaries and keeps a GPT tail', async () => {
    const r = planDisk(await builtin('efi'), 1024 * MIB);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.value.partitions.map((p) => [p.spec.name, p.start / MIB, p.size / MIB])).toEqual([
      ['ESP', 1, 200],
      ['BSP', 201, 1],
      ['root', 202, 1024 - 202 - 1],
    ]);
  });

  it('gives an mbr root everything after the first MiB', async () => {
    const r = planDisk(await builtin('mbr'), 512 * MIB);
    expect(r.ok && r.value.partitions.map((p) => [p.start, p.size])).toEqual([[MIB, 511 * MIB]]);
  });

  it('rounds the disk up to whole MiB and percentages down', () => {
    const l = layout({ table: 'gpt', partitions: [{ name: 'sw', type: 'swap', size: '10%' }, { ...root, size: 'rest' }] });
    const r = planDisk(l, 1000 * MIB - 5);
    if (!r.ok) throw new Error('plan failed');
    expect(r.value.diskSize).toBe(1000 * MIB);
    expect(r.value.partitions.map((p) => [p.start / MIB, p.size / MIB])).toEqual([[1, 100], [101, 898]]);
  });

  it('honours explicit starts', () => {
    const l = layout({ table: 'gpt', partitions: [{ name: 'sw', type: 'swap', size: '8MiB', start: '4MiB' }, { ...root, size: 'rest' }] });
    const r = planDisk(l, 64 * MIB);
    expect(r.ok && r.value.partitions.map((p) => [p.start / MIB, p.size / MIB])).toEqual([[4, 8], [12, 51]]);
  });

  it('reports fixed sizes that do not fit', async () => {
    const r = planDisk(await builtin('efi'), 150 * MIB);
    expect(!r.ok && r.error).toMatchObject({ reason: 'image-too-small', available: 150 * MIB });
    const full = planDisk(layout({ table: 'gpt', partitions: [{ name: 'sw', type: 'swap', size: '62MiB' }, { ...root, size: 'rest' }] }), 64 * MIB);
    expect(!full.ok && full.error.reason === 'image-too-small' && full.error.what).toMatch(/no room left for 'root'/);
  });
});

describe('diskSizeFor', () => {
  it('is the fixed partitions plus the root need plus alignment and GPT tail', async () => {
    expect(diskSizeFor(await builtin('efi'), 'root', 500 * MIB)).toEqual({ ok: true, value: (1 + 200 + 1 + 500 + 1) * MIB });
    expect(diskSizeFor(await builtin('mbr'), 'root', 500 * MIB + 1)).toEqual({ ok: true, value: (1 + 501) * MIB });
  });

  it('scales a percentage root up to the whole disk', () => {
    const l = layout({ table: 'gpt', partitions: [{ ...root, size: '50%' }, { name: 'sw', type: 'swap', size: 'rest' }] });
    const r = diskSizeFor(l, 'root', 300 * MIB);
    if (!r.ok) throw new Error('sizing failed');
    const plan = planDisk(l, r.value);
    expect(plan.ok && plan.value.partitions[0]!.size).toBeGreaterThanOrEqual(300 * MIB);
    expect(r.value).toBeLessThanOrEqual(602 * MIB);
  });

  it('fails for a fixed root that cannot hold the tree', () => {
    const l = layout({ table: 'mbr', partitions: [{ ...root, size: '100MiB' }] });
    expect(diskSizeFor(l, 'root', 200 * MIB)).toMatchObject({ ok: false, error: { reason: 'image-too-small', needed: 200 * MIB, available: 100 * MIB } });
  });
});
