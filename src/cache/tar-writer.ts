// Writes LayerEntry lists as a POSIX pax tar stream that GNU tar reads with
// --xattrs: numeric owners (uname/gname empty), full mode, mtime (ns via the
// pax `mtime` record), long names and big numbers via pax records, devices,
// FIFOs, hard links, and xattrs as `SCHILY.xattr.<name>` records. The same
// entries always give the same bytes: no atime/ctime, no pid in pax names.
//
// File contents are read with synchronous calls straight into 4 MiB output
// chunks: a layer is thousands of small files, and a thread-pool round trip
// per open/read/close, or an extra copy, would cost more than the reads.
import { closeSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { LayerEntry } from './layer-entry.js';
import { BLOCK, encodeHeader, MAX_OCTAL_12, MAX_OCTAL_8, padding, paxRecord, TYPE } from './tar-header.js';

export interface TarWriterOptions {
  /** Clamp every mtime to at most this many seconds since the epoch (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
}

/** Output chunk size: file data is read straight into these, never copied again here. */
const CHUNK = 4 * 1024 * 1024;
const NS = 1_000_000_000n;

/** A byte stream of the tar archive of `entries` (which must be in layer order). */
export function tarStream(entries: readonly LayerEntry[], opts: TarWriterOptions = {}): Readable {
  return Readable.from(tarChunks(entries, opts), { objectMode: false, highWaterMark: CHUNK });
}

/**
 * The archive as a sequence of buffers of up to CHUNK bytes. Each buffer is
 * handed over for good (a fresh one is started), so consumers may keep it.
 */
export function* tarChunks(entries: readonly LayerEntry[], opts: TarWriterOptions = {}): Generator<Buffer> {
  let buf = Buffer.allocUnsafeSlow(CHUNK);
  let used = 0;
  const take = (): Buffer => {
    const out = buf.subarray(0, used);
    buf = Buffer.allocUnsafeSlow(CHUNK);
    used = 0;
    return out;
  };
  const probe = Buffer.alloc(1);
  for (const entry of [...entries, undefined]) {
    const head = entry === undefined ? Buffer.alloc(2 * BLOCK) : entryHeaders(entry, opts);
    if (head.length > CHUNK - used && used > 0) yield take();
    if (head.length > CHUNK) yield head;
    else {
      head.copy(buf, used);
      used += head.length;
    }
    if (entry === undefined || entry.kind !== 'file' || entry.size === 0) continue;

    const fd = openSync(entry.source!, 'r');
    try {
      let remaining = entry.size;
      while (remaining > 0) {
        if (used === CHUNK) yield take();
        const n = readSync(fd, buf, used, Math.min(CHUNK - used, remaining), null);
        if (n === 0) throw new Error(`${entry.path}: file shrank while packing`);
        used += n;
        remaining -= n;
      }
      if (readSync(fd, probe, 0, 1, null) !== 0) throw new Error(`${entry.path}: file grew while packing`);
    } finally {
      closeSync(fd);
    }
    const pad = padding(entry.size);
    if (pad > CHUNK - used) yield take();
    buf.fill(0, used, used + pad);
    used += pad;
  }
  if (used > 0) yield take();
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
