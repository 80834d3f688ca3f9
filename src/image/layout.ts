// The block-device layout: what partitions a disk image has, in the spirit of
// diskimage-builder's block-device config but smaller. Parsed and validated by
// layout-parse.ts, placed on the disk by partition-plan.ts.

/** The partition table written at the start (and for GPT, the end) of the disk. */
export type TableType = 'mbr' | 'gpt';

/** What a partition is for; decides its MBR type byte / GPT type GUID. */
export type PartitionType = 'linux' | 'efi' | 'bios-boot' | 'swap';

/** Filesystems we can make from files. `xfs` is known but refused (see layout-parse.ts). */
export type FilesystemType = 'ext4' | 'vfat' | 'swap';

export type PartitionFlag = 'boot' | 'legacy_boot';

/**
 * A partition's size as written in the layout:
 * - `bytes`: a fixed size (`200MiB`, `2GiB`, `512KiB`, or a bare byte count);
 * - `percent`: a share of the whole disk (`25%`);
 * - `rest`: whatever is left (at most one partition).
 */
export type SizeSpec =
  | { kind: 'bytes'; bytes: number }
  | { kind: 'percent'; percent: number }
  | { kind: 'rest' };

export interface PartitionSpec {
  /** Unique name; the GPT partition name, and what errors point at. */
  name: string;
  type: PartitionType;
  size: SizeSpec;
  /** Optional fixed start in bytes (1 MiB aligned); otherwise right after the previous partition. */
  start?: number;
  flags: PartitionFlag[];
  filesystem?: FilesystemType;
  /** Filesystem label (ext4: up to 16 bytes; vfat: up to 11, stored upper case). */
  label?: string;
  /** Where it is mounted in the booted system; exactly one partition has `/`. */
  mountpoint?: string;
  /** The fourth fstab field; `defaults` when not given. */
  fstabOptions?: string;
}

export interface Layout {
  /** Where the layout came from: a file path or `builtin:<name>`, for error messages. */
  source: string;
  table: TableType;
  partitions: PartitionSpec[];
  /**
   * UEFI Secure Boot the way Debian boots (secure-boot-esp.ts): Debian's
   * signed shim and GRUB from the tree on the ESP instead of a GRUB built
   * here. Present only when set, so the layouts without it hash as before.
   */
  secureBoot?: true;
}

export const MIB = 1024 * 1024;
export const SECTOR = 512;
/** Every partition starts on a 1 MiB boundary; the first one at 1 MiB (room for GRUB's core.img on MBR). */
export const ALIGN = MIB;

/** The partition holding `/`: layout-parse.ts guarantees there is exactly one. */
export function rootPartition(layout: Layout): PartitionSpec {
  const root = layout.partitions.find((p) => p.mountpoint === '/');
  if (!root) throw new Error(`layout ${layout.source} has no root partition (validation was skipped)`);
  return root;
}

/** The firmware a layout's image boots with: what the manifest records and `imgfactory test` boots it under. */
export type LayoutFirmware = 'bios' | 'uefi' | 'both' | 'uefi-secure-boot';

export function layoutFirmware(layout: Layout): LayoutFirmware {
  const { bios, efi } = bootTargets(layout);
  if (layout.secureBoot) return 'uefi-secure-boot';
  return bios && efi ? 'both' : efi ? 'uefi' : 'bios';
}

/** Which boot loaders a layout asks for: BIOS GRUB if the disk can hold core.img, UEFI GRUB if it has an ESP. */
export function bootTargets(layout: Layout): { bios: boolean; efi: boolean } {
  const efi = layout.partitions.some((p) => p.type === 'efi');
  const bios = !layout.secureBoot && (layout.table === 'mbr' || layout.partitions.some((p) => p.type === 'bios-boot'));
  return { bios, efi };
}
