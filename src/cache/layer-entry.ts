// One entry of a layer: what the walker finds in a layer source directory and
// what the tar writer turns into archive members. Paths are archive paths:
// relative to the layer root, '/'-separated, no leading './' and no trailing
// '/'; the layer root itself is '.'.

/**
 * What an entry is. `whiteout` (`<dir>/.wh.<name>`) deletes a lower path;
 * `opaque` (`<dir>/.wh..wh..opq`) hides a lower directory's contents.
 */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'whiteout' | 'opaque';

export interface LayerEntry {
  /** Archive path ('.' for the layer root). */
  path: string;
  kind: EntryKind;
  /** Permission bits including setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes; 0 for everything but `file`. */
  size: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Symlink target (verbatim), or the archive path a hard link points at. */
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
  /** Extended attributes, sorted by name; overlayfs' own are never here. */
  xattrs: ReadonlyArray<readonly [string, Buffer]>;
  /** Absolute path the content of a `file` is read from. */
  source?: string;
}

/** The OCI whiteout prefix and opaque marker name. */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/** Byte-wise (LC_ALL=C) order of two archive paths: the order of a layer. */
export function compareArchivePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '.') return -1;
  if (b === '.') return 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
