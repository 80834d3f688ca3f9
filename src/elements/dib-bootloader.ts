// diskimage-builder's `bootloader` element, whose one hook
// (finalise.d/50-bootloader) installs GRUB's packages and runs grub-install
// against the image's loop device, then grub-mkconfig. imgfactory writes the
// boot loader into the disk image itself, from files (src/image: GRUB's boot
// code from the tree's GRUB modules, grub.cfg beside the kernel), so that
// hook is replaced (steps/hook.ts says so in a note). What it would have put
// in the tree still comes: the packages it installs, chosen as it chooses
// them by DIB_BLOCK_DEVICE (set by the block-device-* element's
// environment.d), named through the element's own pkg-map, and installed in
// finalise.d by imgfactory's package steps.
import type { Hook } from './element.js';
import type { PackageInstall } from './package-installs.js';

export const DIB_BOOTLOADER_ELEMENT = 'bootloader';
const HOOK = '50-bootloader';

/** Is this DIB's bootloader element (by name, with its finalise.d hook)? */
export function isDibBootloader(name: string, hooks: Partial<Record<string, Hook[]>>): boolean {
  return name === DIB_BOOTLOADER_ELEMENT && (hooks['finalise.d'] ?? []).some((h) => h.name === HOOK);
}

/**
 * What 50-bootloader installs, as package-installs entries: `grub-pc` for
 * mbr and gpt; for efi, `grub-efi` and `grub-efi-$ARCH` (its pkg-map turns
 * them into efibootmgr, grub-efi and grub-pc-bin on Debian).
 */
export function dibBootloaderPackages(line: number): PackageInstall[] {
  const entry = (name: string, op: '=' | '!=', arch: string[] | null): PackageInstall => ({
    name,
    phase: 'finalise.d',
    uninstall: false,
    buildOnly: false,
    arch,
    notArch: null,
    when: [{ variable: 'DIB_BLOCK_DEVICE', op, value: 'efi' }],
    installtype: null,
    pythonVersion: null,
    line,
  });
  return [entry('grub-pc', '!=', null), entry('grub-efi', '=', null), entry('grub-efi-amd64', '=', ['amd64']), entry('grub-efi-arm64', '=', ['arm64'])];
}
