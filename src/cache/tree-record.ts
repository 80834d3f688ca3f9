// The record of a tree checkpoint: what each entry of the tree was when the
// checkpoint was made, and the two checks against it (checkpoints.ts). One
// JSON line per entry, in walk order (depth first, names in code-unit
// order):
//
//   ["etc/debian_version", "100644 0:0 13 1700000000123456789", "4242", "<sha256 hex>", ""]
//     path                  mode uid:gid size mtime(ns)          inode   content       xattrs
//
//   content: a file's sha256, a symlink's target, a device's number; "" else
//   xattrs:  sha256 of the entry's extended attributes; "" when it has none
//
// A checkpoint's files are hard links shared with build trees, so a write
// through any link lands in it. `statProblem` runs before every restore and
// reads no file: lstat's type, mode, owner, size and mtime catch a write
// that changed a file's size or mtime, and a file added or removed. Neither
// ctime nor the inode can serve: linking and unlinking (every restore, every
// build tree removed) change ctime, and a cache copied elsewhere (`cp -a`,
// a backup) has other inodes. Nor can a directory's size, which is its
// filesystem's own (4096 on ext4, 40 and 20 per entry on tmpfs): it is
// recorded but not compared; its mtime tells an entry added or removed.
// `contentProblem` (`cache verify`) re-reads every file and every xattr as
// well, so it also catches a write that kept size and mtime, or a changed
// xattr.
//
// Making a record hashes the tree's files; `known` (inode, size and mtime ->
// sha256) carries the digests of files already hashed, or found unchanged
// by `statProblem`, so that a build's next checkpoint hashes only new files.
// The inode recorded is the one the file had then, for that lookup only.
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { compareCodeUnits } from './canonical-json.js';
import { sha256File } from './digest.js';
import { readXattrs } from './xattrs.js';

/** One entry: its path, its stat part, its inode then, its content part, its xattrs part (see the top comment). */
export type RecordLine = [path: string, stat: string, ino: string, content: string, xattrs: string];

/** Digests of files already read, by `inode size mtime`. */
export type KnownDigests = Map<string, string>;

/** Files up to this size are read synchronously (the thread-pool round trip would cost more than the read). */
const SYNC_READ_MAX = 1024 * 1024;

export function encodeRecord(lines: RecordLine[]): string {
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

/** The lines of a record file; null if it is not one. */
export function parseRecord(text: string): RecordLine[] | null {
  const lines: RecordLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    try {
      const l = JSON.parse(raw) as unknown;
      if (!Array.isArray(l) || l.length !== 5 || !l.every((f) => typeof f === 'string')) return null;
      lines.push(l as RecordLine);
    } catch {
      return null;
    }
  }
  return lines;
}

/** Records `root` as it is now. */
export async function recordTree(root: string, known: KnownDigests = new Map()): Promise<RecordLine[]> {
  const walked = walk(root);
  const xattrs = await readXattrs(walked.map((w) => w.abs));
  const lines: RecordLine[] = [];
  for (const w of walked) {
    const attrs = xattrs.get(w.abs);
    const attrDigest = attrs ? createHash('sha256').update(attrs.map(([n, v]) => `${n}=${v.toString('base64')}\n`).join('')).digest('hex') : '';
    lines.push([w.rel, statPart(w.st), String(w.st.ino), await contentOf(w, known), attrDigest]);
  }
  return lines;
}

/**
 * Null when `root`'s entries still stand as `record` says, by lstat alone;
 * otherwise the first difference, in words. When they do, the recorded
 * digests of its files go into `known` under their inodes now.
 */
export function statProblem(root: string, record: RecordLine[], known?: KnownDigests): string | null {
  let walked: Walked[];
  try {
    walked = walk(root);
  } catch (e) {
    return `cannot be walked (${(e as Error).message})`;
  }
  const now: RecordLine[] = walked.map((w) => [w.rel, statPart(w.st), String(w.st.ino), '', '']);
  const problem = firstDifference(record, now, (a, b) => sameStat(a, b));
  if (problem === null && known) {
    const recorded = new Map(record.map((l) => [l[0], l[3]]));
    for (const w of walked) if (w.st.isFile()) known.set(digestId(w.st.ino, w.st.size, w.st.mtimeNs), recorded.get(w.rel)!);
  }
  return problem;
}

/** Null when `root` holds exactly what `record` says, contents and xattrs too; otherwise the first difference. */
export async function contentProblem(root: string, record: RecordLine[], known: KnownDigests = new Map()): Promise<string | null> {
  let now: RecordLine[];
  try {
    now = await recordTree(root, known);
  } catch (e) {
    return `cannot be read (${(e as Error).message})`;
  }
  return firstDifference(record, now, (a, b) => sameStat(a, b) && a[3] === b[3] && a[4] === b[4]);
}

/** Whether two lines' stat parts agree, a directory's size aside (see the top comment). */
function sameStat(a: RecordLine, b: RecordLine): boolean {
  return comparedStat(a) === comparedStat(b);
}

function comparedStat(line: RecordLine): string {
  if (!isDirectory(line)) return line[1];
  const [mode, owner, , mtime] = line[1].split(' ');
  return `${mode} ${owner} ${mtime}`;
}

/** The `known` key of a file: its inode, size and mtime. */
export const digestId = (ino: unknown, size: unknown, mtimeNs: unknown): string => `${String(ino)} ${String(size)} ${String(mtimeNs)}`;

interface Walked {
  rel: string;
  abs: string;
  st: BigIntStats;
}

function walk(root: string): Walked[] {
  const out: Walked[] = [];
  const visit = (rel: string, abs: string): void => {
    const st = lstatSync(abs, { bigint: true });
    out.push({ rel, abs, st });
    if (!st.isDirectory()) return;
    for (const name of readdirSync(abs).sort(compareCodeUnits)) visit(rel === '.' ? name : `${rel}/${name}`, path.join(abs, name));
  };
  visit('.', path.resolve(root));
  return out;
}

/** An entry's stat part as a record line has it (mode uid:gid size mtime). */
export function statPart(st: BigIntStats): string {
  return `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeNs}`;
}

async function contentOf(w: Walked, known: KnownDigests): Promise<string> {
  if (w.st.isSymbolicLink()) return readlinkSync(w.abs);
  if (w.st.isCharacterDevice() || w.st.isBlockDevice()) return String(w.st.rdev);
  if (!w.st.isFile()) return '';
  return fileSha256(w.abs, w.st, known);
}

/** A regular file's sha256 (hex): from `known` when its inode, size and mtime are there, else read (and added). */
export async function fileSha256(abs: string, st: BigIntStats, known: KnownDigests): Promise<string> {
  const id = digestId(st.ino, st.size, st.mtimeNs);
  let digest = known.get(id);
  if (digest === undefined) {
    digest = st.size <= SYNC_READ_MAX ? sha256Small(abs) : (await sha256File(abs)).slice('sha256:'.length);
    known.set(id, digest);
  }
  return digest;
}

const buffer = Buffer.alloc(SYNC_READ_MAX);

function sha256Small(file: string): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    let n: number;
    while ((n = readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * The first difference between what was recorded and what is there now, and
 * how many more there are. A directory whose only change is its mtime comes
 * last: it changed because an entry in it was added or removed, which says
 * more.
 */
function firstDifference(was: RecordLine[], now: RecordLine[], same: (a: RecordLine, b: RecordLine) => boolean): string | null {
  const recorded = new Map(was.map((l) => [l[0], l]));
  const problems: string[] = [];
  const directories: string[] = [];
  for (const line of now) {
    const old = recorded.get(line[0]);
    recorded.delete(line[0]);
    if (!old) problems.push(`${line[0]} was added`);
    else if (!same(old, line)) (isDirectory(line) ? directories : problems).push(`${line[0]} ${change(old, line)}`);
  }
  for (const gone of recorded.keys()) problems.push(`${gone} is gone`);
  problems.push(...directories);
  if (problems.length === 0) return null;
  return problems.length === 1 ? problems[0]! : `${problems[0]} (and ${problems.length - 1} more ${problems.length === 2 ? 'change' : 'changes'})`;
}

/** The file type bits of the recorded mode (octal; a sticky /tmp is 41777). */
const typeBits = (line: RecordLine): number => parseInt(line[1].split(' ')[0]!, 8) & 0o170000;
const isDirectory = (line: RecordLine): boolean => typeBits(line) === 0o040000;
export const isRegularFile = (line: RecordLine): boolean => typeBits(line) === 0o100000;

function change(was: RecordLine, now: RecordLine): string {
  const [wMode, wOwner, wSize, wMtime] = was[1].split(' ');
  const [nMode, nOwner, nSize, nMtime] = now[1].split(' ');
  if (wMode !== nMode) return `changed mode (${wMode} -> ${nMode})`;
  if (wOwner !== nOwner) return `changed owner (${wOwner} -> ${nOwner})`;
  if (wSize !== nSize && !isDirectory(now)) return `was changed (size ${wSize} -> ${nSize})`;
  if (wMtime !== nMtime) return 'was changed (its modification time moved)';
  if (was[3] !== now[3]) return 'was changed (its content differs)';
  return 'had its extended attributes changed';
}
