// The EFI system partition (and other vfat filesystems): mkfs.vfat into a
// file, then the staged files copied in with mtools — no mount needed.
// `--invariant` pins mkfs.vfat's time-based fields, `-i` the volume id, and
// the staged files' mtimes are set to SOURCE_DATE_EPOCH before `mcopy -m`.
import { copyFile, mkdir, readdir, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ok, type Result } from '../failure.js';
import { MIB } from './layout.js';
import { run, type LogFn } from '../process/run.js';

export interface VfatOptions {
  file: string;
  bytes: number;
  label?: string;
  /**
   * Write the label as given. By default it is upper-cased, as DOS tools
   * write labels; a reader that compares it exactly (os-collect-config
   * looks for `config-2`) needs the case kept.
   */
  keepLabelCase?: boolean;
  /** 8 hex digits. */
  volumeId: string;
  /** Files to put in: path inside the filesystem (`EFI/BOOT/BOOTX64.EFI`) -> host file. */
  files: Record<string, string>;
  sourceDateEpoch: number;
  /** Scratch directory where the contents are staged. */
  stageDir: string;
  onLog?: LogFn;
}

export async function makeVfat(o: VfatOptions): Promise<Result<void>> {
  const args = ['--invariant', '-F', '32', '-S', '512', '-i', o.volumeId];
  // FAT32 needs at least 65525 clusters: one-sector clusters below 512 MiB.
  if (o.bytes < 512 * MIB) args.push('-s', '1');
  if (o.label) args.push('-n', o.keepLabelCase ? o.label : o.label.toUpperCase());
  args.push('-C', o.file, String(o.bytes / 1024));
  const mk = await run('mkfs.vfat', args, { onLog: o.onLog });
  if (!mk.ok) return mk;
  const names = Object.keys(o.files).sort();
  if (names.length === 0) return ok(undefined);

  await mkdir(o.stageDir, { recursive: true });
  for (const name of names) {
    const dest = path.join(o.stageDir, name);
    await mkdir(path.dirname(dest), { recursive: true });
    await copyFile(o.files[name]!, dest);
  }
  await stampTree(o.stageDir, o.sourceDateEpoch);
  const top = (await readdir(o.stageDir)).sort().map((e) => path.join(o.stageDir, e));
  const env = { SOURCE_DATE_EPOCH: String(o.sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' };
  const cp = await run('mcopy', ['-s', '-m', '-Q', '-i', o.file, ...top, '::/'], { env, onLog: o.onLog });
  return cp.ok ? ok(undefined) : cp;
}

/** Sets atime and mtime of everything under `dir` (and `dir`) to `epoch`. */
async function stampTree(dir: string, epoch: number): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await stampTree(p, epoch);
    await utimes(p, epoch, epoch);
  }
  await utimes(dir, epoch, epoch);
}

/** A swap area in a file, with a fixed UUID. */
export async function makeSwap(file: string, bytes: number, uuid: string, label: string | undefined, onLog?: LogFn): Promise<Result<void>> {
  await writeFile(file, '');
  await truncate(file, bytes);
  const r = await run('mkswap', ['-U', uuid, ...(label ? ['-L', label] : []), file], { onLog });
  return r.ok ? ok(undefined) : r;
}
