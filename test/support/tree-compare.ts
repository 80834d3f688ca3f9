// Compares two directory trees path by path — type, mode, owner, size,
// content hash, symlink target, rdev, xattrs, hard-link groups and (for
// non-directories) mtime — and returns every difference, so a failing test
// says exactly what a round trip lost.
import { createHash } from 'node:crypto';
import { readFileSync, type BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { readXattrs } from '../../src/cache/xattrs.js';

export interface TreeDifference {
  /** Relative path ('.' for the root). */
  path: string;
  field: 'presence' | 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'content' | 'target' | 'rdev' | 'xattrs' | 'links' | 'mtime';
  a: string;
  b: string;
}

export interface CompareOptions {
  /** Paths (relative, '/'-separated) to leave out, with everything below them. */
  ignore?: (rel: string) => boolean;
  /**
   * mtime precision: 'us' (default; what applyLayer can set through Node's
   * utimes), 'ns', or 'none'.
   */
  mtime?: 'us' | 'ns' | 'none';
}

interface Info {
  type: string;
  mode: string;
  uid: string;
  gid: string;
  size: string;
  content: string;
  target: string;
  rdev: string;
  xattrs: string;
  links: string;
  mtime: string;
}

/** Every difference between trees `a` and `b`, sorted by path. */
export async function compareTrees(a: string, b: string, opts: CompareOptions = {}): Promise<TreeDifference[]> {
  const [ta, tb] = await Promise.all([describeTree(a, opts), describeTree(b, opts)]);
  const diffs: TreeDifference[] = [];
  const paths = [...new Set([...ta.keys(), ...tb.keys()])].sort();
  for (const p of paths) {
    const ia = ta.get(p);
    const ib = tb.get(p);
    if (ia === undefined || ib === undefined) {
      diffs.push({ path: p, field: 'presence', a: ia ? ia.type : 'absent', b: ib ? ib.type : 'absent' });
      continue;
    }
    if (ia.type !== ib.type) {
      diffs.push({ path: p, field: 'type', a: ia.type, b: ib.type });
      continue;
    }
    for (const field of ['mode', 'uid', 'gid', 'size', 'content', 'target', 'rdev', 'xattrs', 'links', 'mtime'] as const) {
      if (ia[field] !== ib[field]) diffs.push({ path: p, field, a: ia[field], b: ib[field] });
    }
  }
  return diffs;
}

/** Formats differences one per line, for assertion messages. */
export function formatDifferences(diffs: readonly TreeDifference[], max = 50): string {
  const lines = diffs.slice(0, max).map((d) => `${d.path}: ${d.field} ${d.a} != ${d.b}`);
  if (diffs.length > max) lines.push(`... and ${diffs.length - max} more`);
  return lines.join('\n');
}

async function describeTree(root: string, opts: CompareOptions): Promise<Map<string, Info>> {
  const stats = new Map<string, BigIntStats>();
  const walk = async (rel: string): Promise<void> => {
    const st = await lstat(path.join(root, rel), { bigint: true });
    stats.set(rel, st);
    if (!st.isDirectory()) return;
    for (const name of await readdir(path.join(root, rel))) {
      const child = rel === '.' ? name : `${rel}/${name}`;
      if (opts.ignore?.(child)) continue;
      await walk(child);
    }
  };
  await walk('.');

  const groups = new Map<string, string[]>();
  for (const [rel, st] of stats) {
    if (st.isDirectory() || st.nlink < 2n) continue;
    const key = `${st.dev}:${st.ino}`;
    groups.set(key, [...(groups.get(key) ?? []), rel]);
  }
  const xattrs = await readXattrs([...stats.keys()].map((rel) => path.join(root, rel)));

  const out = new Map<string, Info>();
  for (const [rel, st] of stats) {
    const abs = path.join(root, rel);
    const type = typeOf(st);
    const group = st.isDirectory() ? undefined : groups.get(`${st.dev}:${st.ino}`);
    const attrs = (xattrs.get(path.resolve(abs)) ?? xattrs.get(abs) ?? []).map(([n, v]) => `${n}=${v.toString('hex')}`);
    out.set(rel, {
      type,
      mode: (st.mode & 0o7777n).toString(8),
      uid: String(st.uid),
      gid: String(st.gid),
      size: type === 'file' || type === 'symlink' ? String(st.size) : '',
      content: type === 'file' ? createHash('sha256').update(readFileSync(abs)).digest('hex') : '',
      target: type === 'symlink' ? await readlink(abs) : '',
      rdev: type === 'char' || type === 'block' ? String(st.rdev) : '',
      xattrs: attrs.join(','),
      links: group && group.length > 1 ? group.sort().join('|') : '',
      mtime: type === 'dir' ? '' : mtimeAt(st.mtimeNs, opts.mtime ?? 'us'),
    });
  }
  return out;
}

function mtimeAt(ns: bigint, precision: 'us' | 'ns' | 'none'): string {
  if (precision === 'none') return '';
  return precision === 'ns' ? String(ns) : String(ns / 1000n);
}

function typeOf(st: BigIntStats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}
