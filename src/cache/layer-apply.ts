// Applies a zstd-compressed OCI layer blob to a plain root tree. Two passes
// over the blob: the first validates every name and collects the whiteouts
// and opaque markers, which are applied before anything else (they only ever
// delete what lower layers made); the second extracts with full fidelity.
//
// Extraction uses synchronous fs calls (a layer is thousands of tiny
// dependent syscalls), writes each path only after resolving its parent
// inside rootDir (root-path.ts), never writes through an existing file (it is
// unlinked first), and sets ownership before mode (chown clears setuid),
// xattrs after ownership (chown clears security.capability), and directory
// mtimes last. mtimes are restored to the microsecond: Node's utimes takes
// seconds as a double, so sub-microsecond digits cannot be set.
import { execa } from 'execa';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fchownSync,
  fchmodSync,
  futimesSync,
  lchownSync,
  chmodSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DecompressStream } from 'zstd-napi';
import { fail, FailureError, ok, type Result } from '../failure.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-entry.js';
import { resolveDirInRoot, safeArchivePath, UnsafePathError } from './root-path.js';
import { TYPE } from './tar-header.js';
import { readTar, type TarMember } from './tar-reader.js';
import { readXattrs, removeXattrs, writeXattrs, type XattrList } from './xattrs.js';

export interface ApplyResult {
  /** Members extracted (markers not counted). */
  entries: number;
  /** Whiteouts and opaque markers applied. */
  markers: number;
  /** Uncompressed tar bytes read in the extraction pass. */
  tarBytes: number;
}

/** Applies `blob` (a file path, or a stream that is spooled to a temp file) onto `rootDir`. */
export async function applyLayer(blob: string | Readable, rootDir: string): Promise<Result<ApplyResult>> {
  const root = path.resolve(rootDir);
  mkdirSync(root, { recursive: true });
  let spoolDir: string | undefined;
  try {
    let blobPath: string;
    if (typeof blob === 'string') blobPath = blob;
    else {
      spoolDir = await mkdtemp(path.join(tmpdir(), 'imgfactory-layer-'));
      blobPath = path.join(spoolDir, 'layer.tar.zst');
      await pipeline(blob, createWriteStream(blobPath));
    }
    const markers = await scanMarkers(blobPath);
    for (const m of markers) applyMarker(root, m);
    const extracted = await extract(blobPath, root);
    return ok({ ...extracted, markers: markers.length });
  } catch (err) {
    if (err instanceof FailureError) return fail(err.failure);
    if (err instanceof UnsafePathError) return fail({ reason: 'layer-invalid', entry: '', message: err.message });
    return fail({ reason: 'io', what: `applying layer to ${root}`, message: (err as Error).message });
  } finally {
    if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true });
  }
}

interface Marker {
  /** Archive path of the directory the marker sits in. */
  dir: string;
  /** The whited-out name, or undefined for an opaque marker. */
  name?: string;
}

/** Pass 1: validates every member and returns the markers. */
async function scanMarkers(blobPath: string): Promise<Marker[]> {
  const markers: Marker[] = [];
  const tar = decompressed(blobPath);
  try {
    await readTar(tar.chunks, (member) => {
      const rel = checkedPath(member);
      const marker = markerOf(rel);
      if (marker !== undefined) markers.push(marker);
    });
  } finally {
    tar.close();
  }
  return markers;
}

function applyMarker(root: string, m: Marker): void {
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

/** Pass 2: creates every member. */
async function extract(blobPath: string, root: string): Promise<Omit<ApplyResult, 'markers'>> {
  const xattrs: Array<[string, XattrList]> = [];
  const keptDirs: Array<[string, XattrList]> = [];
  const dirTimes: Array<[string, bigint]> = [];
  let entries = 0;
  const nodes = new PendingNodes();
  // Resolved parent directories (archive path -> real path). Anything removed
  // may have been on a cached path, so a removal forgets them all.
  const resolved = new Map<string, string>();
  const fresh = new Set<string>();
  const parentDir = (relDir: string): string => {
    let real = resolved.get(relDir);
    if (real === undefined) {
      real = resolveDirInRoot(root, relDir, true)!;
      resolved.set(relDir, real);
    }
    return real;
  };
  const removed = (remove: () => void): void => {
    remove();
    resolved.clear();
  };
  const tar = decompressed(blobPath);
  try {
    await readTar(tar.chunks, async (member, body) => {
      try {
        await extractMember(member, body);
      } catch (err) {
        if (err instanceof UnsafePathError) throw invalid(member.name, err.message);
        throw err;
      }
    });
  } finally {
    tar.close();
  }

  async function extractMember(member: TarMember, body: AsyncIterable<Buffer>): Promise<void> {
    const rel = checkedPath(member);
    if (markerOf(rel) !== undefined) return;
    entries++;
    const parent = rel === '.' ? undefined : parentDir(path.posix.dirname(rel));
    const abs = parent === undefined ? root : path.join(parent, path.posix.basename(rel));
    // Nothing can exist yet in a directory this pass created.
    const existing = parent !== undefined && fresh.has(parent) ? undefined : lstatSync(abs, { throwIfNoEntry: false });
    const t = member.typeflag;

    if (t === TYPE.dir) {
      if (existing?.isDirectory()) keptDirs.push([abs, member.xattrs]);
      else {
        if (existing !== undefined) removed(() => rmSync(abs, { recursive: true, force: true }));
        mkdirSync(abs, { mode: 0o700 });
        fresh.add(abs);
      }
      lchownSync(abs, member.uid, member.gid);
      chmodSync(abs, member.mode & 0o7777);
      dirTimes.push([abs, member.mtimeNs]);
      if (member.xattrs.length > 0) xattrs.push([abs, member.xattrs]);
      return;
    }
    if (existing !== undefined) {
      removed(() => (existing.isDirectory() ? rmSync(abs, { recursive: true, force: true }) : unlinkSync(abs)));
    }
    if (t === TYPE.file || t === '\0' || t === '7') {
      const fd = openSync(abs, 'wx', 0o600);
      try {
        let written = 0;
        for await (const piece of body) {
          let off = 0;
          while (off < piece.length) off += writeSync(fd, piece, off, piece.length - off);
          written += piece.length;
        }
        if (written !== member.size) throw new Error(`${rel}: short body`);
        fchownSync(fd, member.uid, member.gid);
        fchmodSync(fd, member.mode & 0o7777);
        futimesSync(fd, ...times(member.mtimeNs));
      } finally {
        closeSync(fd);
      }
    } else if (t === TYPE.hardlink) {
      await nodes.flush(); // the target may be a pending device
      linkSync(linkTarget(root, member), abs);
      return; // a hard link shares its target's inode, metadata and xattrs
    } else if (t === TYPE.symlink) {
      symlinkSync(member.linkname, abs);
      lchownSync(abs, member.uid, member.gid);
      lutimesSync(abs, ...times(member.mtimeNs));
    } else if (t === TYPE.char || t === TYPE.block || t === TYPE.fifo) {
      await nodes.add(abs, member);
    } else {
      throw invalid(rel, `unsupported member type '${t}'`);
    }
    if (member.xattrs.length > 0) xattrs.push([abs, member.xattrs]);
  }

  await nodes.flush();
  // A directory that was kept takes exactly this layer's xattrs.
  const present = await readXattrs(keptDirs.map(([abs]) => abs));
  for (const [abs, wanted] of keptDirs) {
    const names = new Set(wanted.map(([n]) => n));
    const stale = (present.get(abs) ?? []).map(([n]) => n).filter((n) => !names.has(n));
    if (stale.length > 0) await removeXattrs(abs, stale);
  }
  await writeXattrs(xattrs);
  for (let i = dirTimes.length - 1; i >= 0; i--) utimesSync(dirTimes[i]![0], ...times(dirTimes[i]![1]));
  return { entries, tarBytes: tar.bytes() };
}

/**
 * Devices and FIFOs, which Node cannot make: created by mknod/mkfifo in one
 * shell per batch (paths passed as arguments, never quoted into the script),
 * then given their owner, mode and mtime.
 */
class PendingNodes {
  private items: Array<[string, TarMember]> = [];

  async add(abs: string, member: TarMember): Promise<void> {
    this.items.push([abs, member]);
    if (this.items.length >= 500) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    const lines = items.map(([, m], i) => {
      const arg = `"\${${i + 1}}"`;
      if (m.typeflag === TYPE.fifo) return `mkfifo -m 0600 -- ${arg}`;
      return `mknod -m 0600 -- ${arg} ${m.typeflag === TYPE.char ? 'c' : 'b'} ${m.devmajor} ${m.devminor}`;
    });
    await execa('sh', ['-ec', lines.join('\n'), 'sh', ...items.map(([abs]) => abs)]);
    for (const [abs, m] of items) {
      lchownSync(abs, m.uid, m.gid);
      chmodSync(abs, m.mode & 0o7777);
      utimesSync(abs, ...times(m.mtimeNs));
    }
  }
}

function checkedPath(member: TarMember): string {
  try {
    const rel = safeArchivePath(member.name);
    if (member.typeflag === TYPE.hardlink) safeArchivePath(member.linkname);
    return rel;
  } catch (err) {
    throw invalid(member.name, (err as Error).message);
  }
}

function markerOf(rel: string): Marker | undefined {
  const base = path.posix.basename(rel);
  if (!base.startsWith(WHITEOUT_PREFIX)) return undefined;
  const dir = path.posix.dirname(rel);
  if (base === OPAQUE_MARKER) return { dir };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') throw invalid(rel, 'whiteout of no name');
  return { dir, name };
}

/** Where a hard link's target lives now; it must exist and not be a directory. */
function linkTarget(root: string, member: TarMember): string {
  const rel = safeArchivePath(member.linkname);
  const dir = resolveDirInRoot(root, path.posix.dirname(rel), false);
  const abs = dir === undefined ? undefined : path.join(dir, path.posix.basename(rel));
  const st = abs === undefined ? undefined : lstatSync(abs, { throwIfNoEntry: false });
  if (abs === undefined || st === undefined || st.isDirectory()) {
    throw invalid(member.name, `hard link to missing or directory target ${member.linkname}`);
  }
  return abs;
}

/**
 * [atime, mtime] as the doubles Node's utimes wants. libuv truncates to the
 * microsecond; adding half a microsecond makes that truncation exact despite
 * the double's rounding, so the result is always floor(ns / 1000) µs.
 */
function times(ns: bigint): [number, number] {
  if (ns < 0n) return [Number(ns) / 1e9, Number(ns) / 1e9];
  const us = ns / 1000n;
  const t = Number(us / 1_000_000n) + (Number(us % 1_000_000n) + 0.5) / 1e6;
  return [t, t];
}

function invalid(entry: string, message: string): FailureError {
  return new FailureError({ reason: 'layer-invalid', entry, message });
}

/** The decompressed tar of a blob file, counted; close() releases it even when not read to the end. */
function decompressed(blobPath: string): { chunks: AsyncIterable<Buffer>; bytes: () => number; close: () => void } {
  const src = createReadStream(blobPath, { highWaterMark: 1024 * 1024 });
  const dec = new DecompressStream();
  src.on('error', (err) => dec.destroy(err));
  src.pipe(dec);
  let bytes = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of dec as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      yield chunk;
    }
  }
  return {
    chunks: counted(),
    bytes: () => bytes,
    close: () => {
      src.destroy();
      dec.destroy();
    },
  };
}
