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
import { FailureError } from '../failure.js';
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

/**
 * The variables 50-bootloader writes /etc/default/grub from. With DIB's
 * bootloader in an image they are read back after environment.d (its own
 * 10-bootloader-default-cmdline sets the first two), as the hook sees them
 * (engine/condition-vars.ts).
 */
export const DIB_BOOTLOADER_VARS = ['DIB_BOOTLOADER_DEFAULT_CMDLINE', 'DIB_BOOTLOADER_SERIAL_CONSOLE', 'DIB_GRUB_TIMEOUT'];

/** How the image boots: grub.cfg's kernel command line after `root=... ro`, and its menu's timeout in seconds. */
export interface BootSettings {
  kernelArgs: string;
  timeout: number;
}

/**
 * What 50-bootloader makes of them: GRUB_CMDLINE_LINUX_DEFAULT, "console=tty0
 * console=<serial> no_timer_check" and then DIB_BOOTLOADER_DEFAULT_CMDLINE,
 * the serial console being DIB_BOOTLOADER_SERIAL_CONSOLE or the
 * architecture's (hvc0 on POWER, ttyAMA0 on arm64, else ttyS0); GRUB_TIMEOUT,
 * DIB_GRUB_TIMEOUT or 5. A timeout that is not a whole number of seconds is a
 * usage failure naming the variable.
 */
export function dibBootloaderBoot(vars: Record<string, string>, arch: string): BootSettings {
  const serial = vars.DIB_BOOTLOADER_SERIAL_CONSOLE || (['powerpc', 'ppc64', 'ppc64le'].includes(arch) ? 'hvc0' : arch === 'arm64' ? 'ttyAMA0,115200' : 'ttyS0,115200');
  const timeout = vars.DIB_GRUB_TIMEOUT ?? '5';
  if (!/^\d+$/.test(timeout)) throw new FailureError({ reason: 'usage', message: `DIB_GRUB_TIMEOUT=${timeout}: not a whole number of seconds`, hint: "DIB's bootloader element writes it as GRUB_TIMEOUT; give e.g. DIB_GRUB_TIMEOUT=5" });
  return { kernelArgs: `console=tty0 console=${serial} no_timer_check ${vars.DIB_BOOTLOADER_DEFAULT_CMDLINE ?? ''}`.trim(), timeout: Number(timeout) };
}
