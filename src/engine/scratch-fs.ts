// Where a build's tree and overlays live: in memory (tmpfs) or on the build
// root's disk. Creating files is the bulk of a build (dpkg unpacks ~120k of
// them for the controller; applying a layer creates them all again) and on
// an ext4 disk each create costs far more kernel time than on tmpfs: here,
// extracting the controller's 2.8 GiB tree took 62 s on ext4 and 5.7 s on
// tmpfs. diskimage-builder builds in tmpfs for the same reason.
//
// The price: tree checkpoints (src/cache/checkpoints.ts) need the tree on
// the cache's filesystem, so a tmpfs build makes none, and a rebuild applies
// every cached layer again. Measured (bench/RESULTS.md, session 3), tmpfs
// made cold builds 7-22 % faster but a finalise-changed rebuild 1.7-1.9 x
// slower, so the CLI's default is `disk`: rebuilds are what the cache is for.
// `auto` takes /dev/shm when it is a tmpfs and both it and the machine's
// available memory have AUTO_MIN_BYTES to spare; a tree there is gone at
// reboot, which is fine for scratch.
import { readFile, statfs } from 'node:fs/promises';

export type ScratchMode = 'auto' | 'tmpfs' | 'disk';
export const SCRATCH_MODES: readonly ScratchMode[] = ['auto', 'tmpfs', 'disk'];

export const TMPFS_DIR = '/dev/shm';
/** What `auto` wants free in /dev/shm and in MemAvailable: the controller's build peaks near 8 GiB. */
export const AUTO_MIN_BYTES = 12 * 1024 ** 3;
const TMPFS_MAGIC = 0x01021994;

export interface ScratchChoice {
  /** Parent directory of the build's work dirs; null: inside the build dir on disk. */
  dir: string | null;
  /** Why, for the build's log. */
  reason: string;
}

export async function chooseScratch(mode: ScratchMode): Promise<ScratchChoice> {
  if (mode === 'disk') return { dir: null, reason: 'on disk (--scratch disk)' };
  const fs = await statfs(TMPFS_DIR).catch(() => null);
  const isTmpfs = fs !== null && fs.type === TMPFS_MAGIC;
  if (mode === 'tmpfs') {
    if (!isTmpfs) throw new Error(`--scratch tmpfs: ${TMPFS_DIR} is not a tmpfs on this machine`);
    return { dir: TMPFS_DIR, reason: `in memory (${TMPFS_DIR}, --scratch tmpfs)` };
  }
  if (!isTmpfs) return { dir: null, reason: `on disk (${TMPFS_DIR} is not a tmpfs)` };
  const free = fs.bavail * fs.bsize;
  const available = await memAvailable();
  if (free < AUTO_MIN_BYTES || available < AUTO_MIN_BYTES) {
    return { dir: null, reason: `on disk (less than ${AUTO_MIN_BYTES / 1024 ** 3} GiB of memory to spare for a tmpfs tree)` };
  }
  return { dir: TMPFS_DIR, reason: `in memory (${TMPFS_DIR})` };
}

async function memAvailable(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kb = /^MemAvailable:\s+(\d+) kB$/m.exec(text)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}
