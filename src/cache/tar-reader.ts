// Reads a tar stream member by member: ustar headers, pax local headers
// (path, linkpath, size, uid, gid, mtime, SCHILY.xattr.*), GNU long names.
// The caller gets each member with a one-shot body iterator; whatever it does
// not consume is skipped before the next member.
import { BLOCK, decodeHeader, padding, parsePax, TYPE } from './tar-header.js';

export interface TarMember {
  /** Name as stored, without trailing '/'. Not validated: see root-path.ts. */
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Array<readonly [string, Buffer]>;
}

/** Upper bound for one pax/GNU extended header (xattr values are at most 64 KiB each). */
const MAX_EXTENDED_HEADER = 16 * 1024 * 1024;

export type MemberHandler = (member: TarMember, body: AsyncIterable<Buffer>) => Promise<void> | void;

/** Calls `onMember` for each member of the archive in `source`, in order. */
export async function readTar(source: AsyncIterable<Buffer>, onMember: MemberHandler): Promise<void> {
  const q = new ByteQueue(source[Symbol.asyncIterator]());
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await q.take(BLOCK);
    if (block === undefined) throw new Error('tar archive is truncated (no end-of-archive blocks)');
    const h = decodeHeader(block);
    if (h === undefined) return;
    const size = h.typeflag === TYPE.paxLocal || h.typeflag === TYPE.paxGlobal ? h.size : numberOr(pax.get('size'), h.size);
    if (h.typeflag === TYPE.paxLocal || h.typeflag === TYPE.paxGlobal || h.typeflag === TYPE.gnuLongName || h.typeflag === TYPE.gnuLongLink) {
      if (size > MAX_EXTENDED_HEADER) throw new Error(`extended header of ${size} bytes is too big`);
      const data = await q.take(size + padding(size));
      if (data === undefined) throw new Error('tar archive is truncated in an extended header');
      const payload = data.subarray(0, size);
      if (h.typeflag === TYPE.paxLocal) pax = new Map([...pax, ...parsePax(payload)]);
      else if (h.typeflag === TYPE.gnuLongName) longName = cString(payload);
      else if (h.typeflag === TYPE.gnuLongLink) longLink = cString(payload);
      continue;
    }
    const xattrs: Array<readonly [string, Buffer]> = [];
    for (const [key, value] of pax) {
      if (key.startsWith('SCHILY.xattr.')) xattrs.push([key.slice('SCHILY.xattr.'.length), value]);
    }
    const rawName = pax.get('path')?.toString('utf8') ?? longName ?? h.name;
    const member: TarMember = {
      name: rawName.length > 1 && rawName.endsWith('/') ? rawName.replace(/\/+$/, '') : rawName,
      typeflag: h.typeflag,
      mode: h.mode,
      uid: numberOr(pax.get('uid'), h.uid),
      gid: numberOr(pax.get('gid'), h.gid),
      size,
      mtimeNs: pax.has('mtime') ? parseTime(pax.get('mtime')!.toString('latin1')) : BigInt(h.mtime) * 1_000_000_000n,
      linkname: pax.get('linkpath')?.toString('utf8') ?? longLink ?? h.linkname,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs,
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    // Every member's declared size is skipped, whatever its type.
    const body = q.stream(size);
    await onMember(member, body);
    for await (const _ of body) {
      // drain what the handler left
    }
    if (!(await q.skip(padding(size)))) throw new Error('tar archive is truncated');
  }
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

function numberOr(value: Buffer | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.toString('latin1'));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad pax number: ${value.toString('latin1')}`);
  return n;
}

/** "<sec>[.<frac>]" (possibly negative) -> nanoseconds. */
export function parseTime(s: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) throw new Error(`bad pax time: ${s}`);
  const frac = BigInt(((m[3] ?? '') + '000000000').slice(0, 9));
  const abs = BigInt(m[2]!) * 1_000_000_000n + frac;
  return m[1] === '-' ? -abs : abs;
}

/** Pulls exact byte counts out of an async iterator of chunks. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const next = await this.it.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or undefined at end of input. */
  async take(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      this.consume(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
      this.buffered -= n;
    }
    return out;
  }

  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (!(await this.fill(1))) return false;
      const k = Math.min(n, this.chunks[0]!.length);
      this.consume(k);
      n -= k;
    }
    return true;
  }

  /** The next n bytes as pieces, without copying; a one-shot iterable. */
  stream(n: number): AsyncIterable<Buffer> {
    let left = n;
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Buffer>> => {
          if (left === 0) return { done: true, value: undefined };
          if (!(await this.fill(1))) throw new Error('tar archive is truncated in a member');
          const first = this.chunks[0]!;
          const k = Math.min(left, first.length);
          const piece = first.subarray(0, k);
          this.consume(k);
          left -= k;
          return { done: false, value: piece };
        },
      }),
    };
  }

  private consume(n: number): void {
    const first = this.chunks[0]!;
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
  }
}
