// Files the tree checkpoints already hold, taken by hard link instead of
// kept twice (issue 17). overcloud-compute built in overcloud-control's cache
// installs many of the controller's packages again, onto another parent: the
// same files byte for byte, with the same owner, mode and mtime (dpkg takes
// them from the .deb; reproducible-layer.ts clamps the rest), but new inodes,
// so every checkpoint after that step held a second copy of them. Likewise a
// rebuild whose early step changed makes again the files of the package step
// after it. So a step just built that moves a file onto the tree
// (layer-merge.ts) takes a checkpoint's inode instead when, at the same path,
// that checkpoint's record says it holds the same bytes (sha256), mode,
// owner, size and mtime, and no xattrs, and lstat says it still does.
//
// What must not change, and why it does not:
// - The tree. Path, type, mode, owner, size, mtime and content are the same
//   by the check above; a file with xattrs is never taken. Its inode is no
//   part of the tree (checkpoint inodes are shared with build trees anyway).
// - The hard links inside one tree, which tar and `mkfs.ext4 -d` keep: the
//   tree must have exactly the links its layers made. A file is taken only
//   when it is linked nowhere else (nlink 1), only from a record where its
//   inode is at that one path, and only at the same path: two paths of one
//   tree never get one inode through this.
// - Directory mtimes. The link is made beside the file and renamed over it,
//   in a directory the layer holds (the file was moved into it), whose mtime
//   the tree writer sets after every entry (tree-writer.ts).
// - The checkpoint taken from: a link to it is made, nothing in it written.
//   As a restore does (checkpoints.ts), this trusts lstat: a write that kept
//   a file's size and mtime is for `cache verify` to find.
//
// The index (every checkpoint's record, the most recently used first) is read
// once per build, and only for a layer with enough file bytes to be worth
// it: a no-op build, or a small hook's layer, never reads it.
import { linkSync, lstatSync, renameSync, type BigIntStats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listCheckpoints } from './checkpoints.js';
import { digestId, fileSha256, isRegularFile, parseRecord, statPart, type KnownDigests } from './tree-record.js';

/** A layer with fewer file bytes than this takes nothing (and does not read the index). */
export const SHARE_MIN_LAYER_BYTES = 16 * 1024 * 1024;

interface Held {
  /** The file in the checkpoint's tree. */
  abs: string;
  /** Its record's stat part (mode uid:gid size mtime) and sha256. */
  stat: string;
  sha256: string;
}

export class SharedFiles {
  private index: Promise<Map<string, Held>> | undefined;

  /** `known`: the build's file digests (tree-record.ts); a file taken adds the checkpoint inode's. */
  constructor(
    private readonly cache: string,
    private readonly known: KnownDigests,
  ) {}

  /**
   * Replaces the tree's file `abs` (at `rel` in the tree, linked nowhere
   * else) with a hard link to a checkpoint's file at `rel` holding the same;
   * whether it did. The caller sets the directory's mtime afterwards.
   */
  async take(rel: string, abs: string): Promise<boolean> {
    const held = (await this.load()).get(rel);
    if (!held) return false;
    const mine = lstatSync(abs, { bigint: true });
    if (!mine.isFile() || mine.nlink !== 1n || statPart(mine) !== held.stat) return false;
    // Read, never looked up in `known`: its entries are for inodes a checkpoint keeps alive, and this one
    // may be freed (by the link below) and its number reused by a file of the same size and (clamped) mtime.
    if ((await fileSha256(abs, mine, new Map())) !== held.sha256) return false;
    const theirs = lstatIf(held.abs);
    if (!theirs?.isFile() || statPart(theirs) !== held.stat) return false;
    const beside = path.join(path.dirname(abs), `.${path.basename(abs)}.imgfactory-shared`);
    try {
      linkSync(held.abs, beside); // fails, taking nothing, if the name is in use or the checkpoint just went
    } catch {
      return false;
    }
    renameSync(beside, abs);
    this.known.set(digestId(theirs.ino, theirs.size, theirs.mtimeNs), held.sha256);
    return true;
  }

  private load(): Promise<Map<string, Held>> {
    this.index ??= (async () => {
      const index = new Map<string, Held>();
      const checkpoints = (await listCheckpoints(this.cache)).sort((a, b) => b.lastUse - a.lastUse);
      for (const c of checkpoints) {
        const record = parseRecord(await readFile(path.join(c.dir, 'record'), 'utf8').catch(() => ''));
        if (!record) continue;
        const paths = new Map<string, number>(); // recorded inode -> paths it is at
        for (const line of record) paths.set(line[2], (paths.get(line[2]) ?? 0) + 1);
        for (const line of record) {
          const [rel, stat, ino, sha256, xattrs] = line;
          if (index.has(rel) || xattrs !== '' || paths.get(ino) !== 1 || !isRegularFile(line)) continue;
          index.set(rel, { abs: path.join(c.dir, 'tree', rel), stat, sha256 });
        }
      }
      return index;
    })();
    return this.index;
  }
}

function lstatIf(file: string): BigIntStats | undefined {
  try {
    return lstatSync(file, { bigint: true });
  } catch {
    return undefined;
  }
}
