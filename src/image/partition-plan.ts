// Where each partition goes on the disk: byte offsets and sizes, all aligned
// to 1 MiB, for a given disk size; and the smallest disk size on which the
// root filesystem gets the room it needs.
//
//   0      1MiB                                               end-1MiB   end
//   | MBR/GPT + GRUB core.img gap | part 1 | part 2 | ... | rest | GPT backup |
//                                   (the 1 MiB tail is kept only for gpt)
import { fail, ok, type Result } from '../failure.js';
import { ALIGN, MIB, type Layout, type PartitionSpec } from './layout.js';
import { formatBytes, roundUp } from './size-spec.js';

export interface PlacedPartition {
  /** 1-based partition number, in layout order. */
  number: number;
  spec: PartitionSpec;
  /** Offset from the start of the disk, in bytes (a multiple of 1 MiB). */
  start: number;
  /** Length in bytes (a multiple of 1 MiB). */
  size: number;
}

export interface DiskPlan {
  diskSize: number;
  partitions: PlacedPartition[];
}

/** Bytes kept free at the end of a GPT disk for the backup header and entries (33 sectors, rounded to 1 MiB). */
export function tailReserve(layout: Layout): number {
  return layout.table === 'gpt' ? MIB : 0;
}

/** Places the layout's partitions on a disk of `diskSize` bytes (rounded up to 1 MiB). */
export function planDisk(layout: Layout, diskSize: number): Result<DiskPlan> {
  const size = roundUp(diskSize, MIB);
  const usableEnd = size - tailReserve(layout);
  const tooSmall = (what: string, needed: number, available: number): Result<DiskPlan> =>
    fail({ reason: 'image-too-small', what: `${layout.source}: ${what} on a ${formatBytes(size)} disk`, needed, available });

  const sizeOf = (p: PartitionSpec): number => {
    switch (p.size.kind) {
      case 'bytes':
        return roundUp(p.size.bytes, ALIGN);
      case 'percent':
        return Math.max(ALIGN, Math.floor((size * p.size.percent) / 100 / ALIGN) * ALIGN);
      case 'rest':
        return 0;
    }
  };
  // First pass with rest = 0 to learn how much the others take.
  const place = (restSize: number): PlacedPartition[] => {
    let cursor = ALIGN;
    return layout.partitions.map((spec, i) => {
      const start = spec.start ?? cursor;
      const len = spec.size.kind === 'rest' ? restSize : sizeOf(spec);
      cursor = start + len;
      return { number: i + 1, spec, start, size: len };
    });
  };
  const first = place(0);
  for (let i = 1; i < first.length; i++) {
    const prev = first[i - 1]!;
    const cur = first[i]!;
    if (cur.start < prev.start + prev.size && cur.spec.size.kind !== 'rest' && prev.spec.size.kind !== 'rest') {
      return fail({
        reason: 'bad-layout',
        file: layout.source,
        partition: cur.spec.name,
        message: `starts at ${formatBytes(cur.start)}, inside '${prev.spec.name}' (${formatBytes(prev.start)}..${formatBytes(prev.start + prev.size)}): partitions overlap`,
      });
    }
  }
  const end = Math.max(...first.map((p) => p.start + p.size));
  const rest = layout.partitions.find((p) => p.size.kind === 'rest');
  if (end > usableEnd) return tooSmall('the fixed-size partitions do not fit', end + tailReserve(layout), size);
  if (!rest) return ok({ diskSize: size, partitions: first });
  const restSize = usableEnd - end;
  if (restSize < ALIGN) return tooSmall(`no room left for '${rest.name}' (size: rest)`, end + ALIGN + tailReserve(layout), size);
  const placed = place(restSize);
  // A partition with an explicit start after the 'rest' one would now overlap it.
  for (let i = 1; i < placed.length; i++) {
    const prev = placed[i - 1]!;
    const cur = placed[i]!;
    if (cur.start < prev.start + prev.size) {
      return fail({
        reason: 'bad-layout',
        file: layout.source,
        partition: cur.spec.name,
        message: `a fixed start after the 'rest' partition '${prev.spec.name}' leaves it no room: partitions overlap`,
      });
    }
  }
  return ok({ diskSize: size, partitions: placed });
}

/**
 * The smallest disk (a multiple of 1 MiB) on which the root partition gets at
 * least `rootNeeded` bytes. A fixed-size root that is too small is an
 * 'image-too-small' failure.
 */
export function diskSizeFor(layout: Layout, rootName: string, rootNeeded: number): Result<number> {
  const root = layout.partitions.find((p) => p.name === rootName);
  if (!root) throw new Error(`no partition ${rootName} in ${layout.source}`);
  const fixed = layout.partitions.reduce((sum, p) => sum + (p.size.kind === 'bytes' ? roundUp(p.size.bytes, ALIGN) : 0), 0);
  const percent = layout.partitions.reduce((sum, p) => sum + (p.size.kind === 'percent' ? p.size.percent : 0), 0);
  const overhead = ALIGN + tailReserve(layout);
  let estimate = overhead + fixed + (root.size.kind === 'rest' ? roundUp(rootNeeded, ALIGN) : 0);
  if (percent > 0 && percent < 100) estimate = estimate / (1 - percent / 100);
  if (root.size.kind === 'percent') estimate = Math.max(estimate, (rootNeeded * 100) / root.size.percent);
  let size = roundUp(Math.ceil(estimate), MIB);
  for (let i = 0; i < 64; i++) {
    const plan = planDisk(layout, size);
    if (!plan.ok) {
      if (plan.error.reason !== 'image-too-small') return plan;
      size += roundUp(Math.max(plan.error.needed - size, MIB), MIB);
      continue;
    }
    const got = plan.value.partitions.find((p) => p.spec.name === rootName)!.size;
    if (got >= rootNeeded) return ok(size);
    if (root.size.kind === 'bytes') {
      return fail({ reason: 'image-too-small', what: `${layout.source}: partition '${rootName}' (fixed size) cannot hold the root tree`, needed: rootNeeded, available: got });
    }
    size += roundUp(rootNeeded - got, MIB);
  }
  throw new Error(`diskSizeFor did not converge for ${layout.source}`);
}
