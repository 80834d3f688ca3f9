// Writing a layer's entries into a plain root tree: the rules both ways of
// putting a layer onto the tree share, so a tree is the same whether its
// layers came from the cache (layer-apply.ts, from a blob) or were just built
// (layer-merge.ts, moved out of the step's upper dir).
//
// - Markers first: a whiteout deletes a lower path, an opaque marker empties
//   a lower directory.
// - Every path is written only after its parent is resolved inside the root
//   with chroot semantics (root-path.ts); a removal forgets resolved parents.
// - A directory that exists is kept and takes the layer's owner, mode and
//   exactly its xattrs; anything else in the way is removed first, so an
//   existing file is never written through (tree files may be hard links
//   shared with checkpoints).
// - Ownership before mode (chown clears setuid), xattrs after ownership
//   (chown clears security.capability), directory mtimes last.
// - mtimes are kept to the microsecond: Node's utimes takes seconds as a
//   double, so sub-microsecond digits cannot be set.
import { linkSync, lstatSync, mkdirSync, readdirSync, rmSync, chmodSync, lchownSync, utimesSync, type Stats } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-entry.js';
import { resolveDirInRoot, safeArchivePath, UnsafePathError } from './root-path.js';
import { readXattrs, removeXattrs, writeXattrs, type XattrList } from './xattrs.js';

export interface Marker {
  /** Archive path of the directory the marker sits in. */
  dir: string;
  /** The whited-out name, or undefined for an opaque marker. */
  name?: string;
}

export interface DirMeta {
  uid: number;
  gid: number;
  mode: number;
  mtimeNs: bigint;
  xattrs: Readonly<XattrList>;
}

/** The marker an archive path is, or undefined for an ordinary path. Throws for a whiteout of no name. */
export function markerOf(rel: string): Marker | undefined {
  const base = path.posix.basename(rel);
  if (!base.startsWith(WHITEOUT_PREFIX)) return undefined;
  const dir = path.posix.dirname(rel);
  if (base === OPAQUE_MARKER) return { dir };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') throw layerInvalid(rel, 'whiteout of no name');
  return { dir, name };
}

export function applyMarker(root: string, m: Marker): void {
  let dir: string | undefined;
  try {
    dir = resolveDirInRoot(root, m.dir, false);
  } catch (err) {
    if (err instanceof UnsafePathError) return; // no lower directory there: nothing to hide
    throw err;
  }
  if (dir === undefined) return;
  if (m.name !== undefined) {
    rmSync(path.join(dir, m.name), { recursive: true, force: true });
    return;
  }
  for (const child of readdirSync(dir)) rmSync(path.join(dir, child), { recursive: true, force: true });
}

export class TreeWriter {
  private readonly xattrs: Array<[string, Readonly<XattrList>]> = [];
  private readonly keptDirs: Array<[string, Readonly<XattrList>]> = [];
  private readonly dirTimes: Array<[string, bigint]> = [];
  // Resolved parent directories (archive path -> real path). Anything removed
  // may have been on a cached path, so a removal forgets them all.
  private readonly resolved = new Map<string, string>();
  // Directories this writer created: nothing can exist in them yet.
  private readonly fresh = new Set<string>();

  constructor(readonly root: string) {}

  /** Where `rel` goes in the tree, and what is there now. */
  locate(rel: string): { abs: string; existing: Stats | undefined } {
    if (rel === '.') return { abs: this.root, existing: lstatSync(this.root) };
    const parent = this.parentDir(path.posix.dirname(rel));
    const abs = path.join(parent, path.posix.basename(rel));
    return { abs, existing: this.fresh.has(parent) ? undefined : lstatSync(abs, { throwIfNoEntry: false }) };
  }

  /** Makes (or keeps) directory `rel` with the layer's owner and mode; xattrs and mtime are set in finish(). */
  dir(rel: string, meta: DirMeta): void {
    const { abs, existing } = this.locate(rel);
    if (existing?.isDirectory()) this.keptDirs.push([abs, meta.xattrs]);
    else {
      if (existing !== undefined) this.remove(abs);
      mkdirSync(abs, { mode: 0o700 });
      this.fresh.add(abs);
    }
    lchownSync(abs, meta.uid, meta.gid);
    chmodSync(abs, meta.mode & 0o7777);
    this.dirTimes.push([abs, meta.mtimeNs]);
    if (meta.xattrs.length > 0) this.xattrs.push([abs, meta.xattrs]);
  }

  /** Clears the way for a non-directory at `rel` and returns its absolute path. */
  place(rel: string): string {
    const { abs, existing } = this.locate(rel);
    if (existing !== undefined) this.remove(abs);
    return abs;
  }

  /** Hard-links `rel` to the tree path `linkname` (which must exist and not be a directory). */
  link(rel: string, linkname: string): void {
    const abs = this.place(rel);
    linkSync(linkTarget(this.root, rel, linkname), abs);
  }

  /** Queues the xattrs of a written non-directory (set in finish()). */
  setXattrs(abs: string, list: Readonly<XattrList>): void {
    if (list.length > 0) this.xattrs.push([abs, list]);
  }

  /** Sets the queued xattrs (kept directories take exactly the layer's), then directory mtimes, deepest first. */
  async finish(): Promise<void> {
    const present = await readXattrs(this.keptDirs.map(([abs]) => abs));
    for (const [abs, wanted] of this.keptDirs) {
      const names = new Set(wanted.map(([n]) => n));
      const stale = (present.get(abs) ?? []).map(([n]) => n).filter((n) => !names.has(n));
      if (stale.length > 0) await removeXattrs([abs], stale);
    }
    await writeXattrs(this.xattrs);
    for (let i = this.dirTimes.length - 1; i >= 0; i--) utimesSync(this.dirTimes[i]![0], ...times(this.dirTimes[i]![1]));
  }

  private parentDir(relDir: string): string {
    let real = this.resolved.get(relDir);
    if (real === undefined) {
      real = resolveDirInRoot(this.root, relDir, true)!;
      this.resolved.set(relDir, real);
    }
    return real;
  }

  private remove(abs: string): void {
    rmSync(abs, { recursive: true, force: true });
    this.resolved.clear();
  }
}

/** Where a hard link's target lives now; it must exist and not be a directory. */
function linkTarget(root: string, rel: string, linkname: string): string {
  const target = safeArchivePath(linkname);
  const dir = resolveDirInRoot(root, path.posix.dirname(target), false);
  const abs = dir === undefined ? undefined : path.join(dir, path.posix.basename(target));
  const st = abs === undefined ? undefined : lstatSync(abs, { throwIfNoEntry: false });
  if (abs === undefined || st === undefined || st.isDirectory()) {
    throw layerInvalid(rel, `hard link to missing or directory target ${linkname}`);
  }
  return abs;
}

/** Whether a nanosecond mtime has digits below the microsecond (which the tree cannot keep). */
export const subMicro = (ns: bigint): boolean => ns % 1000n !== 0n;

/**
 * [atime, mtime] as the doubles Node's utimes wants. libuv truncates to the
 * microsecond; adding half a microsecond makes that truncation exact despite
 * the double's rounding, so the result is always floor(ns / 1000) µs.
 */
export function times(ns: bigint): [number, number] {
  if (ns < 0n) return [Number(ns) / 1e9, Number(ns) / 1e9];
  const us = ns / 1000n;
  const t = Number(us / 1_000_000n) + (Number(us % 1_000_000n) + 0.5) / 1e6;
  return [t, t];
}

export function layerInvalid(entry: string, message: string): FailureError {
  return new FailureError({ reason: 'layer-invalid', entry, message });
}
