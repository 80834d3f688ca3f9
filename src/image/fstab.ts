// /etc/fstab for the image: one line per partition that is mounted or swapped,
// naming filesystems by LABEL when they have one, else by UUID, so the file
// is right whatever the disk is called in the VM (vda, sda, nvme0n1).
import type { PartitionSpec } from './layout.js';

export interface FstabEntry {
  spec: PartitionSpec;
  /** The filesystem's UUID as blkid shows it (vfat: XXXX-XXXX). */
  uuid: string;
}

/** The fstab text; root first, then the others in layout order. */
export function renderFstab(entries: FstabEntry[]): string {
  const lines = ['# /etc/fstab: written by imgfactory from the block-device layout.', '# <file system> <mount point> <type> <options> <dump> <pass>'];
  const sorted = [...entries].sort((a, b) => Number(b.spec.mountpoint === '/') - Number(a.spec.mountpoint === '/'));
  for (const { spec, uuid } of sorted) {
    const source = spec.label ? `LABEL=${spec.label}` : `UUID=${uuid}`;
    if (spec.type === 'swap') {
      lines.push(`${source} none swap ${spec.fstabOptions ?? 'sw'} 0 0`);
    } else if (spec.mountpoint && spec.filesystem) {
      const pass = spec.mountpoint === '/' ? 1 : 2;
      const options = spec.fstabOptions ?? (spec.mountpoint === '/' ? 'defaults,errors=remount-ro' : 'defaults');
      lines.push(`${source} ${spec.mountpoint} ${spec.filesystem} ${options} 0 ${pass}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** A vfat volume id (8 hex digits) as blkid prints it: `1234-ABCD`. */
export function vfatUuid(id32: string): string {
  return `${id32.slice(0, 4)}-${id32.slice(4)}`.toUpperCase();
}
