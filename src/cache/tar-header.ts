// The POSIX pax tar format at the block level: a 512-byte ustar header, pax
// extended-header records, and their decoding. Pure functions on buffers; the
// streaming lives in tar-writer.ts and tar-reader.ts.
//
//   offset  size  field         offset  size  field
//   0       100   name          257     6     magic "ustar\0"
//   100     8     mode          263     2     version "00"
//   108     8     uid           265     32    uname
//   116     8     gid           297     32    gname
//   124     12    size          329     8     devmajor
//   136     12    mtime         337     8     devminor
//   148     8     chksum        345     155   prefix
//   156     1     typeflag      500     12    (padding)
//   157     100   linkname

export const BLOCK = 512;

/** Typeflags we write and read. */
export const TYPE = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  paxLocal: 'x',
  paxGlobal: 'g',
  gnuLongName: 'L',
  gnuLongLink: 'K',
} as const;

export interface UstarFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** Largest values the octal fields hold (the rest goes into pax records). */
export const MAX_OCTAL_8 = 0o7777777;
export const MAX_OCTAL_12 = 0o77777777777;

/** Encodes one header block. Fields that do not fit must already be in pax records and clamped here. */
export function encodeHeader(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, 100, f.name);
  writeOctal(b, 100, 8, f.mode);
  writeOctal(b, 108, 8, f.uid);
  writeOctal(b, 116, 8, f.gid);
  writeOctal(b, 124, 12, f.size);
  writeOctal(b, 136, 12, f.mtime);
  b.fill(0x20, 148, 156);
  b.write(f.typeflag, 156, 1, 'latin1');
  writeString(b, 157, 100, f.linkname);
  b.write('ustar\u000000', 257, 8, 'latin1');
  writeOctal(b, 329, 8, f.devmajor);
  writeOctal(b, 337, 8, f.devminor);
  writeOctal(b, 148, 7, checksum(b));
  return b;
}

/** Decodes a header block; undefined for an all-zero block (end of archive). */
export function decodeHeader(b: Buffer): UstarFields | undefined {
  if (b.every((x) => x === 0)) return undefined;
  const stored = readNumber(b, 148, 8);
  if (stored !== checksum(b)) throw new Error('tar header checksum mismatch');
  const name = readString(b, 0, 100);
  const magic = b.toString('latin1', 257, 262);
  const prefix = magic === 'ustar' ? readString(b, 345, 155) : '';
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: readNumber(b, 100, 8),
    uid: readNumber(b, 108, 8),
    gid: readNumber(b, 116, 8),
    size: readNumber(b, 124, 12),
    mtime: readNumber(b, 136, 12),
    typeflag: b.toString('latin1', 156, 157) || TYPE.file,
    linkname: readString(b, 157, 100),
    devmajor: readNumber(b, 329, 8),
    devminor: readNumber(b, 337, 8),
  };
}

/** One pax record: "<len> <key>=<value>\n", where len counts the whole record. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

/** Parses pax records; values stay raw bytes (xattr values are binary). */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw new Error('malformed pax record');
    const len = Number(data.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) throw new Error('malformed pax record length');
    const rec = data.subarray(space + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0 || data[pos + len - 1] !== 0x0a) throw new Error('malformed pax record');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

/** Bytes needed to pad `size` up to a whole block. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
  return sum;
}

function writeString(b: Buffer, off: number, len: number, s: string): void {
  Buffer.from(s, 'utf8').copy(b, off, 0, len);
}

function writeOctal(b: Buffer, off: number, len: number, n: number): void {
  b.write(n.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function readString(b: Buffer, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return field.toString('utf8', 0, nul < 0 ? len : nul);
}

/** Octal, or GNU base-256 (high bit set) for big values written by other tars. */
function readNumber(b: Buffer, off: number, len: number): number {
  if ((b[off]! & 0x80) !== 0) {
    let n = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + b[off + i]!;
    return n;
  }
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}
