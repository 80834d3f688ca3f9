import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootCsv, secureBootEspFiles } from '../../../src/image/secure-boot-esp.js';
import type { Uuid } from '../../../src/image/seed.js';
import { scratchDir } from '../../support/run-dir.js';

const SIGNED = ['usr/lib/shim/shimx64.efi.signed', 'usr/lib/shim/fbx64.efi.signed', 'usr/lib/shim/mmx64.efi.signed', 'usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed'];
const UUID = '0a1b2c3d-0000-4000-8000-000000000001' as Uuid;

async function tree(without?: string): Promise<{ root: string; work: string }> {
  const dir = await scratchDir('sb-esp');
  const root = path.join(dir, 'root');
  for (const f of SIGNED.filter((f) => f !== without)) {
    await mkdir(path.dirname(path.join(root, f)), { recursive: true });
    await writeFile(path.join(root, f), `signed ${path.basename(f)}`);
  }
  const work = path.join(dir, 'work');
  await mkdir(work);
  return { root, work };
}

describe('secureBootEspFiles', () => {
  it("lays out the ESP as Debian's grub-install does, from the tree's signed binaries", async () => {
    const { root, work } = await tree();
    const r = await secureBootEspFiles(root, UUID, work);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const from = (p: string): string => path.relative(root, r.value[p]!);
    expect(Object.keys(r.value).sort()).toEqual([
      'EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/fbx64.efi', 'EFI/BOOT/grubx64.efi', 'EFI/BOOT/mmx64.efi',
      'EFI/debian/BOOTX64.CSV', 'EFI/debian/grub.cfg', 'EFI/debian/grubx64.efi', 'EFI/debian/mmx64.efi', 'EFI/debian/shimx64.efi',
    ]);
    expect(from('EFI/BOOT/BOOTX64.EFI')).toBe('usr/lib/shim/shimx64.efi.signed');
    expect(from('EFI/debian/shimx64.efi')).toBe('usr/lib/shim/shimx64.efi.signed');
    expect(from('EFI/BOOT/grubx64.efi')).toBe('usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed');
    expect(from('EFI/BOOT/fbx64.efi')).toBe('usr/lib/shim/fbx64.efi.signed');
    // Signed GRUB's prefix is /EFI/debian: this file finds the root filesystem and hands over to its grub.cfg.
    expect(await readFile(r.value['EFI/debian/grub.cfg']!, 'utf8')).toBe(
      `search --no-floppy --fs-uuid --set=root ${UUID}\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n`,
    );
    expect(await readFile(r.value['EFI/debian/BOOTX64.CSV']!)).toEqual(bootCsv('shimx64.efi', 'debian'));
  });

  it("takes a signed binary through the tree's own links, an absolute one too (never the host's file)", async () => {
    const { root, work } = await tree(SIGNED[0]);
    await writeFile(path.join(root, 'usr/lib/shim/shimx64.efi.signed.latest'), 'signed shim, latest');
    await symlink('/usr/lib/shim/shimx64.efi.signed.latest', path.join(root, SIGNED[0]!));
    const r = await secureBootEspFiles(root, UUID, work);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(path.relative(root, r.value['EFI/BOOT/BOOTX64.EFI']!)).toBe('usr/lib/shim/shimx64.efi.signed.latest');
    expect(await readFile(r.value['EFI/BOOT/BOOTX64.EFI']!, 'utf8')).toBe('signed shim, latest');
  });

  it('names the package to install when a signed binary is missing', async () => {
    for (const [file, pkg] of [[SIGNED[0]!, 'shim-signed'], [SIGNED[1]!, 'shim-helpers-amd64-signed'], [SIGNED[3]!, 'grub-efi-amd64-signed']] as const) {
      const { root, work } = await tree(file);
      const r = await secureBootEspFiles(root, UUID, work);
      expect(!r.ok && r.error).toMatchObject({ reason: 'tree-missing', what: `/${file} in the root tree`, hint: expect.stringContaining(`install ${pkg}`) });
      await rm(root, { recursive: true });
    }
  });

  it("writes shim's fallback CSV as UCS-2 with a byte-order mark", () => {
    const csv = bootCsv('shimx64.efi', 'debian');
    expect([...csv.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(csv.subarray(2).toString('utf16le')).toBe('shimx64.efi,debian,,This is the boot entry for debian\n');
  });
});
