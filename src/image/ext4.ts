// The root filesystem: `mkfs.ext4 -d <tree>` into a file, then files the image
// needs but the tree must not get (fstab, grub.cfg) written into the new
// filesystem with debugfs — the caller's tree is never touched. Finally every
// inode's atime/ctime is set to SOURCE_DATE_EPOCH: mkfs copies them from the
// tree, where they depend on when the tree was unpacked and read.
//
// With `offset` the filesystem is made in place inside an existing file (the
// raw disk, at its partition's offset: `mkfs.ext4 -E offset=`, and
// e2fsprogs' `file?offset=N` for debugfs, dumpe2fs and e2fsck), so the
// assembled disk needs no copy of it. The file must exist: mke2fs makes
// other bytes when it creates the file itself.
import { lstat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { run, type LogFn } from '../process/run.js';
import { pausedTool } from '../process/test-pause.js';
import type { Uuid } from './seed.js';

/** A file placed into the filesystem after mkfs (owner root:root). */
export interface InjectedFile {
  /** Absolute path inside the filesystem. */
  path: string;
  content: string;
  mode: number;
}

export interface Ext4Options {
  file: string;
  /** Where in `file` the filesystem starts (bytes); 0 or unset: the file is the filesystem. */
  offset?: number;
  bytes: number;
  treeDir: string;
  label?: string;
  uuid: Uuid;
  hashSeed: Uuid;
  inodes: number;
  sourceDateEpoch: number;
  inject: InjectedFile[];
  /** Directories to create if the tree lacks them (mountpoints such as /boot/efi), mode 0755 root:root. */
  dirs?: string[];
  /** A scratch directory for the debugfs script and injected contents. */
  workDir: string;
  onLog?: LogFn;
}

export async function makeExt4(o: Ext4Options): Promise<Result<void>> {
  const env = { E2FSPROGS_FAKE_TIME: String(o.sourceDateEpoch) };
  if (o.offset && o.file.includes('?')) return fail({ reason: 'usage', message: `${o.file}: a '?' in the build directory's path cannot be told from e2fsprogs' ?offset= (choose another --build-dir)` });
  const extended = [`hash_seed=${o.hashSeed}`, ...(o.offset ? [`offset=${o.offset}`] : [])];
  const args = ['-q', '-F', '-t', 'ext4', '-b', '4096', '-U', o.uuid, '-E', extended.join(','), '-N', String(o.inodes), '-d', o.treeDir];
  if (o.label) args.push('-L', o.label);
  args.push(o.file, `${o.bytes / 1024}k`);
  // What debugfs, dumpe2fs and e2fsck open: the filesystem inside the file.
  const fs = o.offset ? `${o.file}?offset=${o.offset}` : o.file;
  const mk = await run(...pausedTool('assembly', 'mkfs.ext4', args), { env, onLog: o.onLog });
  if (!mk.ok) return mk;

  const script: string[] = [];
  const t = `@${o.sourceDateEpoch}`;
  const stamp = (p: string): void => {
    for (const f of ['atime', 'mtime', 'ctime', 'crtime']) script.push(`sif "${p}" ${f} ${t}`);
  };
  const made = new Set<string>();
  const ensureDir = async (dir: string): Promise<void> => {
    if (!/^\/[A-Za-z0-9_./-]*$/.test(dir)) throw new Error(`cannot create ${dir}: only plain paths`);
    const chain: string[] = [];
    for (let d = dir; d !== '/'; d = path.posix.dirname(d)) chain.unshift(d);
    for (const d of chain) {
      if (made.has(d) || (await existsIn(o.treeDir, d))) continue;
      made.add(d);
      script.push(`mkdir "${d}"`, `sif "${d}" mode 040755`, `sif "${d}" uid 0`, `sif "${d}" gid 0`);
      stamp(d);
      stamp(path.posix.dirname(d));
    }
  };
  for (const d of o.dirs ?? []) await ensureDir(d);
  for (const [i, f] of o.inject.entries()) {
    if (!/^\/[A-Za-z0-9_./-]+$/.test(f.path)) throw new Error(`cannot inject ${f.path}: only plain paths`);
    await ensureDir(path.posix.dirname(f.path));
    if (await existsIn(o.treeDir, f.path)) script.push(`rm "${f.path}"`);
    const src = path.join(o.workDir, `inject-${i}`);
    await writeFile(src, f.content);
    script.push(`write "${src}" "${f.path}"`, `sif "${f.path}" mode 0${(0o100000 | f.mode).toString(8)}`, `sif "${f.path}" uid 0`, `sif "${f.path}" gid 0`);
    stamp(f.path);
    stamp(path.posix.dirname(f.path));
  }
  const used = await usedInodes(fs, o.onLog);
  if (!used.ok) return used;
  for (const n of used.value) script.push(`sif <${n}> atime ${t}`, `sif <${n}> ctime ${t}`);

  const scriptFile = path.join(o.workDir, 'debugfs.cmds');
  await writeFile(scriptFile, script.join('\n') + '\n');
  o.onLog?.(`debugfs: ${o.inject.length} injected file(s), times of ${used.value.length} inodes set to ${o.sourceDateEpoch}`);
  const dbg = await run('debugfs', ['-w', '-f', scriptFile, fs], { env });
  if (!dbg.ok) return dbg;
  // debugfs exits 0 even when a command fails; its errors are the lines that are not echoes of commands.
  const errors = dbg.value.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('debugfs ') && !l.startsWith('debugfs:') && !/^Allocated inode: \d+$/.test(l));
  if (errors.length > 0) {
    return fail({ reason: 'tool-failed', tool: 'debugfs', args: ['-w', '-f', scriptFile, fs], exitCode: 0, stderrTail: errors.slice(0, 15) });
  }
  const fsck = await run('e2fsck', ['-f', '-n', fs], { env, onLog: o.onLog });
  return fsck.ok ? ok(undefined) : fsck;
}

/** Inodes in use, except the reserved ones below 11 (other than the root directory, 2). */
async function usedInodes(file: string, onLog?: LogFn): Promise<Result<number[]>> {
  const r = await run('dumpe2fs', [file], { onLog });
  if (!r.ok) return r;
  const count = Number(/^Inode count:\s+(\d+)/m.exec(r.value.stdout)?.[1]);
  const free = new Uint8Array(count + 1);
  for (const m of r.value.stdout.matchAll(/^\s+Free inodes: (.*)$/gm)) {
    for (const range of m[1]!.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [a, b] = range.split('-').map(Number);
      for (let n = a!; n <= (b ?? a!); n++) free[n] = 1;
    }
  }
  const used: number[] = [];
  for (let n = 2; n <= count; n++) if (!free[n] && (n === 2 || n >= 11)) used.push(n);
  return ok(used);
}

async function existsIn(treeDir: string, p: string): Promise<boolean> {
  try {
    await lstat(path.join(treeDir, p));
    return true;
  } catch {
    return false;
  }
}
