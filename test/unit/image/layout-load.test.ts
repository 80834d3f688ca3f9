import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinLayouts, loadLayout } from '../../../src/image/layout-load.js';
import { bootTargets, layoutFirmware, rootPartition } from '../../../src/image/layout.js';
import { parseLayout } from '../../../src/image/layout-parse.js';
import { scratchDir } from '../../support/run-dir.js';

describe('loadLayout', () => {
  it('has the four built-in layouts, all valid', async () => {
    expect(await builtinLayouts()).toEqual(['efi', 'efi-secureboot', 'gpt', 'mbr']);
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
    expect([efi, gpt, mbr].map((l) => l.value.secureBoot)).toEqual([undefined, undefined, undefined]);
    expect([efi, gpt, mbr].map((l) => layoutFirmware(l.value))).toEqual(['both', 'bios', 'bios']);
  });

  it('has a Secure Boot layout: UEFI only, ESP and root', async () => {
    const sb = await loadLayout('efi-secureboot');
    if (!sb.ok) throw new Error(JSON.stringify(sb.error));
    expect(sb.value.secureBoot).toBe(true);
    expect(sb.value.partitions.map((p) => p.type)).toEqual(['efi', 'linux']);
    expect(bootTargets(sb.value)).toEqual({ bios: false, efi: true });
    expect(layoutFirmware(sb.value)).toBe('uefi-secure-boot');
  });

  it('refuses secureBoot without an ESP, beside a BIOS boot partition, or as anything but a boolean', () => {
    const esp = { name: 'ESP', type: 'efi', size: '200MiB', filesystem: 'vfat' };
    const root = { name: 'root', type: 'linux', size: 'rest', filesystem: 'ext4', mountpoint: '/' };
    const bsp = { name: 'BSP', type: 'bios-boot', size: '1MiB' };
    const message = (doc: unknown): string => {
      const r = parseLayout(doc, 'x.yaml');
      return r.ok ? 'accepted' : (r.error as { message: string }).message;
    };
    expect(message({ table: 'gpt', secureBoot: true, partitions: [root] })).toMatch(/secureBoot needs a gpt table with an efi partition/);
    expect(message({ table: 'gpt', secureBoot: true, partitions: [esp, bsp, root] })).toMatch(/UEFI only: drop the bios-boot partition/);
    expect(message({ table: 'gpt', secureBoot: 'yes', partitions: [esp, root] })).toMatch(/secureBoot must be true or false/);
    expect(message({ table: 'gpt', secureboot: true, partitions: [esp, root] })).toMatch(/unknown key\(s\) secureboot \(expected table, partitions, secureBoot\)/);
    const off = parseLayout({ table: 'gpt', secureBoot: false, partitions: [esp, root] }, 'x.yaml');
    expect(off.ok && 'secureBoot' in off.value).toBe(false);
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
    expect(!missing.ok && missing.error.reason === 'bad-layout' && missing.error.message).toMatch(/built-in layouts: efi, efi-secureboot, gpt, mbr/);
  });
});
