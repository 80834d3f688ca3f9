import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinLayouts, loadLayout } from '../../../src/image/layout-load.js';
import { bootTargets, rootPartition } from '../../../src/image/layout.js';
import { scratchDir } from '../../support/run-dir.js';

describe('loadLayout', () => {
  it('has the three built-in layouts, all valid', async () => {
    expect(await builtinLayouts()).toEqual(['efi', 'gpt', 'mbr']);
    const efi = await loadLayout('efi');
    const gpt = await loadLayout('gpt');
    const mbr = await loadLayout('mbr');
    if (!efi.ok || !gpt.ok || !mbr.ok) throw new Error(JSON.stringify([efi, gpt, mbr]));
    expect(bootTargets(efi.value)).toEqual({ bios: true, efi: true });
    expect(bootTargets(gpt.value)).toEqual({ bios: true, efi: false });
    expect(bootTargets(mbr.value)).toEqual({ bios: true, efi: false });
    expect(rootPartition(mbr.value)).toMatchObject({ label: 'cloudimg-rootfs', flags: ['boot'] });
    expect(efi.value.partitions.map((p) => p.type)).toEqual(['efi', 'bios-boot', 'linux']);
    expect(efi.value.source).toBe('builtin:efi');
  });

  it('reads a JSON file by path and reports YAML syntax errors and unknown names', async () => {
    const dir = await scratchDir('layout-load');
    const json = path.join(dir, 'l.json');
    await writeFile(json, JSON.stringify({ table: 'gpt', partitions: [{ name: 'r', type: 'linux', size: '2GiB', filesystem: 'ext4', mountpoint: '/' }] }));
    const r = await loadLayout(json);
    expect(r.ok && r.value.partitions[0]!.size).toEqual({ kind: 'bytes', bytes: 2 * 1024 ** 3 });

    const broken = path.join(dir, 'broken.yaml');
    await writeFile(broken, 'table: gpt\npartitions: [ {name: x\n');
    const b = await loadLayout(broken);
    expect(!b.ok && b.error).toMatchObject({ reason: 'bad-layout', file: broken });

    const missing = await loadLayout('nosuch');
    expect(!missing.ok && missing.error.reason === 'bad-layout' && missing.error.message).toMatch(/built-in layouts: efi, gpt, mbr/);
  });
});
