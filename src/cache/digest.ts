// Digests and the branded strings that keep them apart: the sha256 of a file
// or buffer, and `digestTree`, one digest over a whole directory keyed by
// relative path, so that renaming or swapping two files changes it while the
// directory's own absolute location does not.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { canonicalJson, compareCodeUnits } from './canonical-json.js';
import { TREE_DIGEST_TAG } from './format.js';

/** sha256 of some bytes (a file, a buffer, a tree description): `sha256:<64 hex>`, as OCI writes digests. */
export type FileDigest = string & { readonly __brand: 'FileDigest' };
/** The key of one layer (or of the final outputs) in the cache: `sha256:<64 hex>`. */
export type LayerKey = string & { readonly __brand: 'LayerKey' };
/** An ssri integrity string addressing a blob in the content store: `sha256-<base64>`. */
export type Integrity = string & { readonly __brand: 'Integrity' };

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isFileDigest(value: string): value is FileDigest {
  return DIGEST_RE.test(value);
}

export function isLayerKey(value: string): value is LayerKey {
  return DIGEST_RE.test(value);
}

/** Brands a hex sha256 (e.g. from a hash object) as a FileDigest. */
export function fileDigestFromHex(hex: string): FileDigest {
  const d = `sha256:${hex}`;
  if (!isFileDigest(d)) throw new TypeError(`not a sha256 hex digest: ${hex}`);
  return d;
}

/** The hex part of a FileDigest or LayerKey. */
export function hexOf(digest: FileDigest | LayerKey): string {
  return digest.slice('sha256:'.length);
}

export function sha256Buffer(data: Buffer | string): FileDigest {
  return fileDigestFromHex(createHash('sha256').update(data).digest('hex'));
}

/** sha256 of a file's bytes, read as a stream (files may be large). Follows symlinks. */
export async function sha256File(file: string | Buffer): Promise<FileDigest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return fileDigestFromHex(hash.digest('hex'));
}

/**
 * What `digestTree` records about one directory entry. Only what can change
 * what a build does with the file: its path relative to the tree, its type,
 * the mode bits git and scripts care about (executable, setuid, setgid,
 * sticky — not the read/write bits a umask decides), a symlink's target, a
 * device's number, a regular file's content digest. Never owner, times or
 * the tree's absolute location.
 */
export interface TreeEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block';
  exec?: true;
  setuid?: true;
  setgid?: true;
  sticky?: true;
  target?: string;
  rdev?: number;
  sha256?: FileDigest;
}

/**
 * One digest over every entry under `dir` (not following symlinks), each
 * described by its relative path (see TreeEntry). Entries are visited in
 * code-unit order of their names, so the digest does not depend on readdir
 * order either. `exclude` leaves out entries by relative path.
 */
export async function digestTree(dir: string, exclude?: (relPath: string) => boolean): Promise<FileDigest> {
  const hash = createHash('sha256');
  hash.update(`${TREE_DIGEST_TAG}\n`);
  for await (const entry of walkTree(dir)) if (!exclude?.(entry.path)) hash.update(`${canonicalJson(entry)}\n`);
  return fileDigestFromHex(hash.digest('hex'));
}

/** The entries `digestTree` hashes, in its order; useful to explain why two digests differ. */
export async function* walkTree(dir: string): AsyncGenerator<TreeEntry> {
  yield* walkBytes(Buffer.from(dir), '', Buffer.alloc(0));
}

const SLASH = Buffer.from('/');

/**
 * File names are bytes: a name that is not UTF-8 is walked by its bytes and
 * named in the entry as its UTF-8 reading, a NUL (which no file name can
 * hold) and its hex, so it can neither be lost nor collide with another.
 */
function entryName(raw: Buffer): string {
  const text = raw.toString('utf8');
  return Buffer.from(text, 'utf8').equals(raw) ? text : `${text}\u0000${raw.toString('hex')}`;
}

async function* walkBytes(root: Buffer, rel: string, relRaw: Buffer): AsyncGenerator<TreeEntry> {
  const here = relRaw.length === 0 ? root : Buffer.concat([root, SLASH, relRaw]);
  const names = (await readdir(here, { encoding: 'buffer' }))
    .map((raw) => ({ raw, name: entryName(raw) }))
    .sort((a, b) => compareCodeUnits(a.name, b.name));
  for (const { raw, name } of names) {
    const relPath = rel === '' ? name : `${rel}/${name}`;
    const childRaw = relRaw.length === 0 ? raw : Buffer.concat([relRaw, SLASH, raw]);
    const abs = Buffer.concat([root, SLASH, childRaw]);
    const st = await lstat(abs);
    const entry = describe(relPath, st.mode, st.rdev);
    if (entry.type === 'file') entry.sha256 = await sha256File(abs);
    if (entry.type === 'symlink') entry.target = entryName(await readlink(abs, { encoding: 'buffer' }));
    yield entry;
    if (entry.type === 'dir') yield* walkBytes(root, relPath, childRaw);
  }
}

function describe(relPath: string, mode: number, rdev: number): TreeEntry {
  const entry: TreeEntry = { path: relPath, type: typeOf(mode) };
  if (entry.type === 'file' && (mode & 0o111) !== 0) entry.exec = true;
  if (mode & 0o4000) entry.setuid = true;
  if (mode & 0o2000) entry.setgid = true;
  if (mode & 0o1000) entry.sticky = true;
  if (entry.type === 'char' || entry.type === 'block') entry.rdev = rdev;
  return entry;
}

function typeOf(mode: number): TreeEntry['type'] {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    case 0o020000:
      return 'char';
    case 0o060000:
      return 'block';
    default:
      throw new Error(`unknown file type in mode ${mode.toString(8)}`);
  }
}
