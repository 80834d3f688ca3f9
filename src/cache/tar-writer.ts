// Writes LayerEntry lists as a POSIX pax tar stream that GNU tar reads with
// --xattrs: numeric owners (uname/gname empty), full mode, mtime (ns via the
// pax `mtime` record), long names and big numbers via pax records, devices,
// FIFOs, hard links, and xattrs as `SCHILY.xattr.<name>` records. The same
// entries always give the same bytes: no atime/ctime, no pid in pax names.
//
// File contents are read with synchronous calls in 1 MiB pieces: a layer is
// thousands of small files, and a thread-pool round trip per open/read/close
// would cost more than the reads themselves.
import { closeSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { LayerEntry } from './layer-entry.js';
import { BLOCK, encodeHeader, MAX_OCTAL_12, MAX_OCTAL_8, padding, paxRecord, TYPE } from './tar-header.js';

export interface TarWriterOptions {
  /** Clamp every mtime to at most this many seconds since the epoch (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
}

const PIECE = 1024 * 1024;
const COALESCE = 256 * 1024;
const NS = 1_000_000_000n;

/** A byte stream of the tar archive of `entries` (which must be in layer order). */
export function tarStream(entries: readonly LayerEntry[], opts: TarWriterOptions = {}): Readable {
  return Readable.from(tarChunks(entries, opts), { objectMode: false, highWaterMark: COALESCE });
}

/** The archive as a sequence of buffers (small members are coalesced). */
export function* tarChunks(entries: readonly LayerEntry[], opts: TarWriterOptions = {}): Generator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (const entry of entries) {
    const head = entryHeaders(entry, opts);
    pending.push(head);
    pendingBytes += head.length;
    if (entry.kind === 'file' && entry.size > 0) {
      for (const piece of fileBody(entry)) {
        pending.push(piece);
        pendingBytes += piece.length;
        if (pendingBytes >= COALESCE) {
          yield Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
        }
      }
    }
    if (pendingBytes >= COALESCE) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  pending.push(Buffer.alloc(2 * BLOCK));
  yield Buffer.concat(pending);
}

/** The pax extended header (when needed) and ustar header of one entry. */
export function entryHeaders(entry: LayerEntry, opts: TarWriterOptions = {}): Buffer {
  const isDir = entry.kind === 'dir';
  const name = entry.path === '.' ? './' : isDir ? `${entry.path}/` : entry.path;
  const link = entry.kind === 'symlink' || entry.kind === 'hardlink' ? (entry.linkTarget ?? '') : '';
  let mtimeNs = entry.mtimeNs;
  if (opts.sourceDateEpoch !== undefined && mtimeNs > BigInt(opts.sourceDateEpoch) * NS) {
    mtimeNs = BigInt(opts.sourceDateEpoch) * NS;
  }
  const seconds = floorDiv(mtimeNs, NS);
  const size = entry.kind === 'file' ? entry.size : 0;

  const records: Buffer[] = [];
  if (Buffer.byteLength(name) > 100) records.push(paxRecord('path', name));
  if (Buffer.byteLength(link) > 100) records.push(paxRecord('linkpath', link));
  if (size > MAX_OCTAL_12) records.push(paxRecord('size', String(size)));
  if (entry.uid > MAX_OCTAL_8) records.push(paxRecord('uid', String(entry.uid)));
  if (entry.gid > MAX_OCTAL_8) records.push(paxRecord('gid', String(entry.gid)));
  if (mtimeNs % NS !== 0n || seconds < 0n || seconds > BigInt(MAX_OCTAL_12)) {
    records.push(paxRecord('mtime', formatTime(mtimeNs)));
  }
  for (const [xname, value] of entry.xattrs) records.push(paxRecord(`SCHILY.xattr.${xname}`, value));

  const header = encodeHeader({
    name: truncateBytes(name, 100),
    mode: entry.mode & 0o7777,
    uid: Math.min(entry.uid, MAX_OCTAL_8),
    gid: Math.min(entry.gid, MAX_OCTAL_8),
    size: Math.min(size, MAX_OCTAL_12),
    mtime: Number(seconds < 0n ? 0n : seconds > BigInt(MAX_OCTAL_12) ? BigInt(MAX_OCTAL_12) : seconds),
    typeflag: typeflagOf(entry),
    linkname: truncateBytes(link, 100),
    devmajor: entry.devMajor ?? 0,
    devminor: entry.devMinor ?? 0,
  });
  if (records.length === 0) return header;
  const pax = Buffer.concat(records);
  const paxHeader = encodeHeader({
    name: truncateBytes(paxName(name), 100),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: pax.length,
    mtime: 0,
    typeflag: TYPE.paxLocal,
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, pax, Buffer.alloc(padding(pax.length)), header]);
}

function typeflagOf(entry: LayerEntry): string {
  switch (entry.kind) {
    case 'file':
    case 'whiteout':
    case 'opaque':
      return TYPE.file;
    case 'dir':
      return TYPE.dir;
    case 'symlink':
      return TYPE.symlink;
    case 'hardlink':
      return TYPE.hardlink;
    case 'char':
      return TYPE.char;
    case 'block':
      return TYPE.block;
    case 'fifo':
      return TYPE.fifo;
  }
}

/** Reads exactly entry.size bytes (plus block padding); a file that changed size fails the pack. */
function* fileBody(entry: LayerEntry): Generator<Buffer> {
  const fd = openSync(entry.source!, 'r');
  try {
    let remaining = entry.size;
    while (remaining > 0) {
      const want = Math.min(remaining, PIECE);
      const last = want === remaining;
      const buf = Buffer.allocUnsafe(last ? want + padding(entry.size) : want);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, null);
        if (n === 0) throw new Error(`${entry.path}: file shrank while packing`);
        got += n;
      }
      if (last) {
        buf.fill(0, want);
        if (readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) throw new Error(`${entry.path}: file grew while packing`);
      }
      remaining -= want;
      yield buf;
    }
  } finally {
    closeSync(fd);
  }
}

function paxName(name: string): string {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  const slash = trimmed.lastIndexOf('/');
  return slash < 0 ? `PaxHeaders/${trimmed}` : `${trimmed.slice(0, slash)}/PaxHeaders/${trimmed.slice(slash + 1)}`;
}

function formatTime(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  const frac = (abs % NS).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${abs / NS}${frac ? `.${frac}` : ''}`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** Cuts a UTF-8 string to at most `max` bytes without splitting a character. */
function truncateBytes(s: string, max: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= max) return s;
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end);
}
