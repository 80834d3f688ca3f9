// Walks a layer source directory (an overlayfs upper dir, or a whole root tree
// for the base layer) into the sorted list of LayerEntry a layer is made of:
// lstat data, symlink targets, hard-link groups (dev+ino), xattrs, and, for
// upper dirs, whiteouts (0/0 char devices) and opaque dirs
// (trusted.overlay.opaque=y). The exclusion rule lives in layer-exclude.ts.
// Directory reads and lstat are synchronous: a root tree is ~10k tiny calls,
// and a thread-pool round trip each would cost more than the calls.
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { compareArchivePaths, OPAQUE_MARKER, WHITEOUT_PREFIX, type EntryKind, type LayerEntry } from './layer-entry.js';
import { isExcludedPath } from './layer-exclude.js';
import { readXattrs } from './xattrs.js';

export interface WalkOptions {
  /**
   * 'upper': an overlayfs upper dir (whiteouts and opaque dirs are classified);
   * 'tree': a plain root tree (a 0/0 char device is just a device).
   */
  source: 'upper' | 'tree';
}

export interface WalkResult {
  entries: LayerEntry[];
  /** Sockets cannot be archived; they are left out and listed here. */
  skipped: string[];
  /** overlayfs' own xattr names on each entry that has any (archive path -> names); never layer content. */
  overlayXattrs: Map<string, string[]>;
}

/** overlayfs' private xattrs: bookkeeping of the mount, never layer content. */
const OVERLAY_XATTR = 'trusted.overlay.';

/** Walks `sourceDir` into the entries of a layer, sorted by path bytes. */
export async function walkLayer(sourceDir: string, opts: WalkOptions): Promise<Result<WalkResult>> {
  try {
    return await walk(path.resolve(sourceDir), opts);
  } catch (err) {
    return fail({ reason: 'io', what: `reading layer source ${sourceDir}`, message: (err as Error).message });
  }
}

async function walk(root: string, opts: WalkOptions): Promise<Result<WalkResult>> {
  const found: Array<{ rel: string; abs: string; st: BigIntStats }> = [];
  const skipped: string[] = [];
  const bad = (rel: string, message: string): Result<WalkResult> =>
    fail({ reason: 'layer-unpackable', source: root, path: rel, message });

  // Depth of a root tree is small; a plain recursive walk is enough.
  const visit = (rel: string, abs: string): string | undefined => {
    const st = lstatSync(abs, { bigint: true });
    if (st.isSocket()) {
      skipped.push(rel);
      return undefined;
    }
    found.push({ rel, abs, st });
    if (!st.isDirectory()) return undefined;
    const names = readdirSync(abs, { encoding: 'buffer' });
    for (const raw of names) {
      const name = decodeName(raw);
      if (name === undefined) return `${rel}/${raw.toString('latin1')}`;
      const childRel = rel === '.' ? name : `${rel}/${name}`;
      if (isExcludedPath(childRel)) continue;
      const err = visit(childRel, path.join(abs, name));
      if (err !== undefined) return err;
    }
    return undefined;
  };
  const badName = visit('.', root);
  if (badName !== undefined) return bad(badName, 'file name is not valid UTF-8');

  const xattrs = await readXattrs(found.map((f) => f.abs));
  const entries: LayerEntry[] = [];
  const overlayXattrs = new Map<string, string[]>();
  const firstOfInode = new Map<string, string>();
  found.sort((a, b) => compareArchivePaths(a.rel, b.rel));

  for (const { rel, abs, st } of found) {
    const all = xattrs.get(abs) ?? [];
    const overlay = new Map(all.filter(([n]) => n.startsWith(OVERLAY_XATTR)).map(([n, v]) => [n, v.toString('latin1')]));
    const content = all.filter(([n]) => !n.startsWith(OVERLAY_XATTR));
    if (overlay.size > 0) overlayXattrs.set(rel, [...overlay.keys()]);
    const base = path.posix.basename(rel);
    if (base.startsWith(WHITEOUT_PREFIX)) return bad(rel, 'names starting with .wh. cannot be stored in an OCI layer');
    if (opts.source === 'upper') {
      if (overlay.has('trusted.overlay.redirect') || overlay.has('trusted.overlay.metacopy')) {
        return bad(rel, 'overlay redirect/metacopy entry: mount the overlay with redirect_dir=off,metacopy=off');
      }
      if (st.isCharacterDevice() && st.rdev === 0n) {
        const wh = rel === '.' ? rel : path.posix.join(path.posix.dirname(rel), WHITEOUT_PREFIX + base);
        entries.push(marker(wh, 'whiteout'));
        continue;
      }
    }
    const entry: LayerEntry = {
      path: rel,
      kind: kindOf(st),
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: 0,
      mtimeNs: st.mtimeNs,
      xattrs: content,
    };
    if (!st.isDirectory() && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = firstOfInode.get(key);
      if (first !== undefined) {
        entries.push({ ...entry, kind: 'hardlink', linkTarget: first });
        continue;
      }
      firstOfInode.set(key, rel);
    }
    if (entry.kind === 'file') {
      entry.size = Number(st.size);
      entry.source = abs;
    } else if (entry.kind === 'symlink') {
      const target = decodeName(readlinkSync(abs, { encoding: 'buffer' }));
      if (target === undefined) return bad(rel, 'symlink target is not valid UTF-8');
      entry.linkTarget = target;
    } else if (entry.kind === 'char' || entry.kind === 'block') {
      entry.devMajor = major(st.rdev);
      entry.devMinor = minor(st.rdev);
    }
    entries.push(entry);
    if (opts.source === 'upper' && entry.kind === 'dir' && overlay.get('trusted.overlay.opaque') === 'y') {
      entries.push(marker(rel === '.' ? OPAQUE_MARKER : `${rel}/${OPAQUE_MARKER}`, 'opaque'));
    }
  }
  entries.sort((a, b) => compareArchivePaths(a.path, b.path));
  return ok({ entries, skipped, overlayXattrs });
}

/** A whiteout or opaque marker: an empty file with fixed metadata, so layers stay reproducible. */
function marker(p: string, kind: 'whiteout' | 'opaque'): LayerEntry {
  return { path: p, kind, mode: 0, uid: 0, gid: 0, size: 0, mtimeNs: 0n, xattrs: [] };
}

function kindOf(st: BigIntStats): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'fifo';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function decodeName(raw: Buffer): string | undefined {
  try {
    return utf8.decode(raw);
  } catch {
    return undefined;
  }
}

/** glibc's gnu_dev_major/gnu_dev_minor. */
export function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
export function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}
