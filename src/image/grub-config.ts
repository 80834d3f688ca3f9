// The two GRUB configurations of an image: the tiny one embedded in core.img /
// BOOTX64.EFI (find the root filesystem by UUID, set the prefix), and
// /boot/grub/grub.cfg on the root filesystem (one entry booting /vmlinuz and
// /initrd.img, on the serial console and the screen).
import type { Uuid } from './seed.js';

/**
 * Kernel command line DIB images boot with (its bootloader element's
 * GRUB_CMDLINE_LINUX_DEFAULT). The last console= becomes /dev/console: the
 * serial port, so what services write to the console (os-collect-config's
 * runs of os-refresh-config) is in the console log a cloud keeps.
 */
export const DEFAULT_KERNEL_ARGS = 'console=tty0 console=ttyS0,115200 no_timer_check';

/** Embedded config: after it runs, GRUB's normal mode reads $prefix/grub.cfg. */
export function earlyConfig(rootUuid: Uuid): string {
  return [
    `search --no-floppy --fs-uuid --set=root ${rootUuid}`,
    'set prefix=($root)/boot/grub',
    '',
  ].join('\n');
}

/**
 * The ESP's grub.cfg of a Secure Boot image (secure-boot-esp.ts): what Debian's
 * grub-install writes there. Signed GRUB's own embedded config sources it.
 */
export function espConfig(rootUuid: Uuid): string {
  return `${earlyConfig(rootUuid)}configfile $prefix/grub.cfg\n`;
}

export interface GrubCfgOptions {
  rootUuid: Uuid;
  /** LABEL of the root filesystem for `root=` (cloud images use cloudimg-rootfs). */
  rootLabel?: string;
  kernelArgs?: string;
  /** Seconds the menu waits; 0 boots at once. */
  timeout?: number;
  title?: string;
}

/**
 * /boot/grub/grub.cfg. It boots the tree's /vmlinuz and /initrd.img symlinks,
 * so a kernel upgrade inside the running image (which moves the symlinks)
 * keeps booting without regenerating this file.
 */
export function grubCfg(o: GrubCfgOptions): string {
  const root = o.rootLabel ? `LABEL=${o.rootLabel}` : `UUID=${o.rootUuid}`;
  return [
    '# Written by imgfactory (src/image/grub-config.ts).',
    'set default=0',
    `set timeout=${o.timeout ?? 1}`,
    'serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1',
    'terminal_input serial console',
    'terminal_output serial console',
    `search --no-floppy --fs-uuid --set=root ${o.rootUuid}`,
    `menuentry '${(o.title ?? 'Linux').replace(/'/g, '')}' {`,
    `  search --no-floppy --fs-uuid --set=root ${o.rootUuid}`,
    `  linux /vmlinuz root=${root} ro ${o.kernelArgs ?? DEFAULT_KERNEL_ARGS}`,
    '  initrd /initrd.img',
    '}',
    '',
  ].join('\n');
}
