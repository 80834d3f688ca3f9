// The firmware an image is booted with, one row each: which OVMF code and
// variable store (Debian's ovmf package) and which machine options. The
// manifest's layout firmware (src/image/layout.ts `layoutFirmware`) picks
// the row an image is tested under: the firmware a cloud gives it.
//
//   bios         SeaBIOS (qemu's default), no flash
//   uefi         OVMF_CODE_4M.fd + a copy of OVMF_VARS_4M.fd
//   secure-boot  OVMF_CODE_4M.ms.fd + a copy of OVMF_VARS_4M.ms.fd (Microsoft's
//                keys enrolled, Secure Boot enforced); the Secure Boot build of
//                OVMF runs its variable store in SMM, so q35 with smm=on and
//                the flash marked secure
import type { Firmware } from '../manifest/manifest.js';

export type BootFirmware = 'bios' | 'uefi' | 'secure-boot';
export const BOOT_FIRMWARES: readonly BootFirmware[] = ['bios', 'uefi', 'secure-boot'];

/** Where Debian's ovmf package puts its files. */
export const DEFAULT_FIRMWARE_DIR = '/usr/share/OVMF';

export interface FirmwareRow {
  /** OVMF's code and variable-store templates, in the firmware directory; null for SeaBIOS. */
  ovmf: { code: string; vars: string } | null;
  machine: string;
  /** Extra qemu arguments the firmware needs. */
  args: string[];
}

export const FIRMWARES: Record<BootFirmware, FirmwareRow> = {
  bios: { ovmf: null, machine: 'q35', args: [] },
  uefi: { ovmf: { code: 'OVMF_CODE_4M.fd', vars: 'OVMF_VARS_4M.fd' }, machine: 'q35', args: [] },
  'secure-boot': {
    ovmf: { code: 'OVMF_CODE_4M.ms.fd', vars: 'OVMF_VARS_4M.ms.fd' },
    machine: 'q35,smm=on',
    args: ['-global', 'driver=cfi.pflash01,property=secure,value=on'],
  },
};

/**
 * The firmware a cloud boots an image of this layout with: BIOS unless the
 * image asks for UEFI (`both` boots with BIOS there, as Nova does without
 * hw_firmware_type).
 */
export function firmwareFor(layout: Firmware | null): BootFirmware {
  switch (layout) {
    case 'uefi':
      return 'uefi';
    case 'uefi-secure-boot':
      return 'secure-boot';
    default:
      return 'bios';
  }
}
