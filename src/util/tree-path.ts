// Resolving a path inside a root tree the way a chroot would see it: symlinks
// in the tree are followed relative to the tree's root, never the host's, so a
// mount target such as /etc/resolv.conf -> ../run/x can never escape the tree,
// and a file imgfactory reads from the tree on the host (the kernel, GRUB's
// modules, the signed shim, /etc/default/grub) is the tree's even when a link
// on the way is absolute (which, joined onto the tree's path and followed by
// the host, would be the host's file).
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';

export type TreeEntryType = 'dir' | 'file' | 'symlink' | 'other' | 'missing';

export interface TreePath {
  /** Path relative to the tree root, no leading slash, no symlinks in its parents ('' is the root). */
  rel: string;
  /** What is there in the tree (the last component is not followed when it is a symlink and followLast is false). */
  type: TreeEntryType;
}

const MAX_LINKS = 40;

/** Resolves `inside` (an absolute path as seen inside the tree) against the tree at `root`. */
export async function resolveInTree(root: string, inside: string, followLast: boolean): Promise<TreePath> {
  let pending = splitPath(inside);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '..') {
      done.pop();
      continue;
    }
    const rel = [...done, name].join('/');
    const st = await lstat(path.join(root, rel)).catch(() => undefined);
    if (st === undefined) return { rel: [...done, name, ...pending].join('/'), type: 'missing' };
    const last = pending.length === 0;
    if (st.isSymbolicLink() && (!last || followLast)) {
      if (++links > MAX_LINKS) return { rel, type: 'other' };
      const target = await readlink(path.join(root, rel));
      if (target.startsWith('/')) done.length = 0;
      pending = [...splitPath(target), ...pending];
      continue;
    }
    done.push(name);
    if (last) return { rel, type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other' };
    if (!st.isDirectory()) return { rel: [...done, ...pending].join('/'), type: 'other' };
  }
  return { rel: done.join('/'), type: 'dir' };
}

function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** The host path of `inside` in the tree when it is (after the tree's links) a regular file; null otherwise. */
export async function fileInTree(root: string, inside: string): Promise<string | null> {
  const r = await resolveInTree(root, inside, true);
  return r.type === 'file' ? path.join(root, r.rel) : null;
}

/** The host path of `inside` in the tree when it is (after the tree's links) a directory; null otherwise. */
export async function dirInTree(root: string, inside: string): Promise<string | null> {
  const r = await resolveInTree(root, inside, true);
  return r.type === 'dir' ? path.join(root, r.rel) : null;
}
