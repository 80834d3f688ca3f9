// The ESP of a Secure Boot image, laid out as Debian's grub-install lays it
// out with --uefi-secure-boot --force-extra-removable (Debian's own cloud
// images), from the signed binaries the tree's packages ship:
//
//   EFI/BOOT/BOOTX64.EFI    shim (Microsoft-signed): the removable-media path firmware boots
//   EFI/BOOT/fbx64.efi      shim's fallback: on a first boot it reads EFI/debian/BOOTX64.CSV
//   EFI/BOOT/mmx64.efi      MokManager                and adds a "debian" boot entry
//   EFI/BOOT/grubx64.efi    GRUB (Debian-signed): what shim loads from its own directory
//   EFI/debian/shimx64.efi, grubx64.efi, mmx64.efi    the same, for the boot entry
//   EFI/debian/BOOTX64.CSV  the entry fallback makes (UCS-2, as grub-install writes it)
//   EFI/debian/grub.cfg     signed GRUB's embedded config reads $prefix/grub.cfg with
//                           prefix /EFI/debian: it finds the root filesystem by UUID and
//                           hands over to /boot/grub/grub.cfg there
//
// Nothing is built or signed here: signed GRUB is monolithic (it cannot load
// unsigned modules under Secure Boot), so every command the configs use
// (search, configfile, linux, serial, ...) is one Debian built into it.
// The kernel it boots is the tree's own, which Debian signs too.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { fileInTree } from '../util/tree-path.js';
import { espConfig } from './grub-config.js';
import type { Uuid } from './seed.js';

/** Where each signed binary comes from in the tree, and the package that ships it. */
const SIGNED = {
  shim: { file: 'usr/lib/shim/shimx64.efi.signed', pkg: 'shim-signed' },
  fallback: { file: 'usr/lib/shim/fbx64.efi.signed', pkg: 'shim-helpers-amd64-signed' },
  mokManager: { file: 'usr/lib/shim/mmx64.efi.signed', pkg: 'shim-helpers-amd64-signed' },
  grub: { file: 'usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed', pkg: 'grub-efi-amd64-signed' },
} as const;

/** The directory signed GRUB's embedded prefix names (`/EFI/debian`). */
export const VENDOR_DIR = 'EFI/debian';

/**
 * The ESP's files (path inside the ESP -> host file) for a Secure Boot image;
 * the two text files are written into `workDir`. 'tree-missing' names the
 * package when a signed binary is not in the tree.
 */
export async function secureBootEspFiles(rootDir: string, rootUuid: Uuid, workDir: string): Promise<Result<Record<string, string>>> {
  const from: Record<keyof typeof SIGNED, string> = { shim: '', fallback: '', mokManager: '', grub: '' };
  for (const [role, { file, pkg }] of Object.entries(SIGNED) as [keyof typeof SIGNED, (typeof SIGNED)[keyof typeof SIGNED]][]) {
    const host = await fileInTree(rootDir, `/${file}`);
    if (host === null) {
      return fail({ reason: 'tree-missing', what: `/${file} in the root tree`, hint: `a secureBoot layout boots Debian's signed binaries: install ${pkg} (the block-device-efi-secureboot element does)` });
    }
    from[role] = host;
  }
  const csv = path.join(workDir, 'BOOTX64.CSV');
  await writeFile(csv, bootCsv('shimx64.efi', 'debian'));
  const cfg = path.join(workDir, 'esp-grub.cfg');
  await writeFile(cfg, espConfig(rootUuid));
  return ok({
    'EFI/BOOT/BOOTX64.EFI': from.shim,
    'EFI/BOOT/fbx64.efi': from.fallback,
    'EFI/BOOT/mmx64.efi': from.mokManager,
    'EFI/BOOT/grubx64.efi': from.grub,
    [`${VENDOR_DIR}/shimx64.efi`]: from.shim,
    [`${VENDOR_DIR}/grubx64.efi`]: from.grub,
    [`${VENDOR_DIR}/mmx64.efi`]: from.mokManager,
    [`${VENDOR_DIR}/BOOTX64.CSV`]: csv,
    [`${VENDOR_DIR}/grub.cfg`]: cfg,
  });
}

/** shim's fallback CSV: `loader,label,options,description`, UCS-2 little-endian with a byte-order mark. */
export function bootCsv(loader: string, label: string): Buffer {
  const line = `${loader},${label},,This is the boot entry for ${label}\n`;
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(line, 'utf16le')]);
}
