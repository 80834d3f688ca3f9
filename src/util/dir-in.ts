// A directory inside another, found without following a link on the way.
// imgfactory changes a step's upper dir (its change to the tree) as root on
// the host, and a step may have left a link there (`/var` or `/tmp` made a
// link to an absolute path, which from the host is the host's): a path is
// used only when it and every directory on the way are directories.
import { lstat } from 'node:fs/promises';
import path from 'node:path';

/** `relDir` under `dir`: there (`at`), missing somewhere on the way, or stopped at `blocked` (relative), which is a link or a file. */
export type DirIn = { at: string } | { missing: true } | { blocked: string; link: boolean };

export async function dirIn(dir: string, relDir: string): Promise<DirIn> {
  let at = dir;
  let rel = '';
  for (const part of relDir.split('/').filter((p) => p !== '' && p !== '.')) {
    at = path.join(at, part);
    rel = path.join(rel, part);
    const st = await lstat(at).catch(() => null);
    if (st === null) return { missing: true };
    if (!st.isDirectory()) return { blocked: rel, link: st.isSymbolicLink() };
  }
  return { at };
}
