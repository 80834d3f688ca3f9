// How big the root filesystem must be for a tree: the tree's apparent size,
// plus per-file block slack and inode tables (inode headroom), plus the
// journal, plus a percentage of headroom, plus the caller's extraSize.
import { ok, type Result } from '../failure.js';
import { run } from '../process/run.js';
import { MIB } from './layout.js';
import { roundUp } from './size-spec.js';

export interface TreeUsage {
  /** `du -s --apparent-size -B1`: the bytes of the files' contents (hard links once). */
  apparentBytes: number;
  /** `du -s --inodes`: files, directories, links and nodes. */
  entries: number;
}

export interface RootFsSizing {
  /** Inodes to create (`mkfs.ext4 -N`): the tree's entries plus room for what the system adds when it runs. */
  inodes: number;
  /** Filesystem size in bytes, a multiple of 1 MiB. */
  bytes: number;
}

export const BLOCK = 4096;
export const INODE_SIZE = 256;
/** Extra room on top of the estimate, in percent; DIB uses a similar margin. */
export const DEFAULT_HEADROOM_PERCENT = 15;

/** Measures a tree with du (apparent size, so sparse or compressed host filesystems do not skew it). */
export async function measureTree(dir: string): Promise<Result<TreeUsage>> {
  const bytes = await run('du', ['-s', '--apparent-size', '-B1', dir]);
  if (!bytes.ok) return bytes;
  const inodes = await run('du', ['-s', '--inodes', dir]);
  if (!inodes.ok) return inodes;
  return ok({ apparentBytes: Number(bytes.value.stdout.split('\t')[0]), entries: Number(inodes.value.stdout.split('\t')[0]) });
}

/** Inode headroom: a quarter more than the tree has, and never fewer than 8192 spare. */
export function inodesFor(entries: number): number {
  return roundUp(entries + Math.max(Math.ceil(entries / 4), 8192), 1024);
}

/** The journal mke2fs picks for a filesystem of this many 4 KiB blocks (ext2fs_default_journal_size). */
export function journalBytes(blocks: number): number {
  if (blocks < 2048) return 0;
  if (blocks < 32768) return 1024 * BLOCK;
  if (blocks < 256 * 1024) return 4096 * BLOCK;
  if (blocks < 512 * 1024) return 8192 * BLOCK;
  if (blocks < 4096 * 1024) return 16384 * BLOCK;
  if (blocks < 8192 * 1024) return 32768 * BLOCK;
  if (blocks < 16384 * 1024) return 65536 * BLOCK;
  if (blocks < 32768 * 1024) return 131072 * BLOCK;
  return 262144 * BLOCK;
}

/**
 * Root filesystem sizing for a measured tree:
 *   data    = apparent bytes + half a block of slack per entry
 *   inodes  = inodesFor(entries) * 256 bytes
 *   base    = (data + inodes) * (1 + headroom%) + journal + 1% group metadata
 *   result  = roundUp(base + extraSize, 1 MiB)
 */
export function rootFsSize(usage: TreeUsage, opts: { headroomPercent?: number; extraSize?: number } = {}): RootFsSizing {
  const headroom = opts.headroomPercent ?? DEFAULT_HEADROOM_PERCENT;
  const inodes = inodesFor(usage.entries);
  const data = usage.apparentBytes + usage.entries * (BLOCK / 2);
  const raw = (data + inodes * INODE_SIZE) * (1 + headroom / 100);
  const journal = journalBytes(Math.ceil(raw / BLOCK));
  const bytes = roundUp(Math.ceil(raw * 1.01) + journal + (opts.extraSize ?? 0), MIB);
  return { inodes, bytes: Math.max(bytes, 16 * MIB) };
}
