// Reading /proc/self/mountinfo: which mounts exist at or below a directory.
// The sandboxes use it to check their own clean-up and to find mounts that a
// killed build left behind (stale.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface MountEntry {
  id: number;
  parentId: number;
  /** Absolute mount point, octal escapes (`\040`) decoded. */
  mountPoint: string;
  fsType: string;
  source: string;
}

/** Every mount in this process's mount namespace, in mount order. */
export async function readMountInfo(file = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  return parseMountInfo(await readFile(file, 'utf8'));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    const [left, right] = splitOnce(line, ' - ');
    const fields = left.split(' ');
    const tail = right.split(' ');
    if (fields.length < 5 || tail.length < 2) continue;
    entries.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      mountPoint: unescapeOctal(fields[4] ?? ''),
      fsType: tail[0] ?? '',
      source: unescapeOctal(tail[1] ?? ''),
    });
  }
  return entries;
}

/** Mounts whose mount point is `dir` itself or lies below it, deepest first. */
export function mountsUnder(entries: MountEntry[], dir: string): MountEntry[] {
  const root = path.resolve(dir);
  return entries
    .filter((e) => isAtOrUnder(e.mountPoint, root))
    .sort((a, b) => depth(b.mountPoint) - depth(a.mountPoint) || b.id - a.id);
}

export function isAtOrUnder(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function depth(p: string): number {
  return p.split('/').length;
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)];
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
