// Applies a zstd-compressed OCI layer blob to a plain root tree. Two passes
// over the blob: the first validates every name and collects the whiteouts
// and opaque markers, which are applied before anything else (they only ever
// delete what lower layers made); the second extracts with full fidelity.
// The rules for writing into the tree are tree-writer.ts's, shared with
// layer-merge.ts (how a step just built reaches the tree).
//
// Extraction uses synchronous fs calls (a layer is thousands of tiny
// dependent syscalls).
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fchownSync,
  fchmodSync,
  futimesSync,
  lchownSync,
  chmodSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
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
import { safeArchivePath, UnsafePathError } from './root-path.js';
import { TYPE } from './tar-header.js';
import { readTar, type TarMember } from './tar-reader.js';
import { applyMarker, layerInvalid, markerOf, times, TreeWriter, type Marker } from './tree-writer.js';
import { mustRun } from '../process/run.js';

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

/** Pass 2: creates every member. */
async function extract(blobPath: string, root: string): Promise<Omit<ApplyResult, 'markers'>> {
  const w = new TreeWriter(root);
  const nodes = new PendingNodes();
  let entries = 0;
  const tar = decompressed(blobPath);
  try {
    await readTar(tar.chunks, async (member, body) => {
      try {
        await extractMember(member, body);
      } catch (err) {
        if (err instanceof UnsafePathError) throw layerInvalid(member.name, err.message);
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
    const t = member.typeflag;
    if (t === TYPE.dir) {
      w.dir(rel, member);
      return;
    }
    if (t === TYPE.hardlink) {
      await nodes.flush(); // the target may be a pending device
      w.link(rel, member.linkname);
      return; // a hard link shares its target's inode, metadata and xattrs
    }
    const abs = w.place(rel);
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
    } else if (t === TYPE.symlink) {
      symlinkSync(member.linkname, abs);
      lchownSync(abs, member.uid, member.gid);
      lutimesSync(abs, ...times(member.mtimeNs));
    } else if (t === TYPE.char || t === TYPE.block || t === TYPE.fifo) {
      await nodes.add(abs, member);
    } else {
      throw layerInvalid(rel, `unsupported member type '${t}'`);
    }
    w.setXattrs(abs, member.xattrs);
  }

  await nodes.flush();
  await w.finish();
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
    await mustRun('sh', ['-ec', lines.join('\n'), 'sh', ...items.map(([abs]) => abs)]);
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
    throw layerInvalid(member.name, (err as Error).message);
  }
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
