// Copying a directory's contents over another one, as `cp -a
// --no-preserve=ownership src/. dest` does, except that nothing already in
// `dest` is ever written through. cp -a opens an existing destination file
// for writing, following it when it is a symlink: a link an element shipped
// (or a cached layer carried) into the hooks tree would have had a later
// file of the same name written wherever it points, as root, on the host.
//
// Here a file or link already at a path is removed before the new one is
// made; a directory meets only a directory (merged), and any other clash is
// refused through `refuse`, as cp refuses it. Files keep their mode and
// times (to the microsecond: Node sets no finer ones), symlinks their target
// unfollowed; names are bytes, as cp takes them. Other file types (fifos,
// devices) are refused too. Done in this process: the hooks tree is made from
// every element of the image, and a cp each cost ~20 ms.
import { chmod, copyFile, lstat, lutimes, mkdir, readdir, readlink, symlink, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';

/** Why a path of the source could not be copied: `rel` is its path inside the source; `problem` reads after it ("is a file or link, where there is a directory"). */
export type Refusal = (rel: string, problem: string) => Error;

const SLASH = Buffer.from('/');
const join = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, SLASH, name]);

/** Copies what `src` holds into `dest` (which exists), later copies winning; throws what `refuse` makes. */
export async function copyOver(src: string, dest: string, refuse: Refusal): Promise<void> {
  await copyDir(Buffer.from(src), Buffer.from(dest), '', refuse);
}

async function copyDir(src: Buffer, dest: Buffer, rel: string, refuse: Refusal): Promise<void> {
  for (const raw of await readdir(src, { encoding: 'buffer' })) {
    const relPath = path.join(rel, raw.toString());
    const source = join(src, raw);
    const target = join(dest, raw);
    const st = await lstat(source);
    const there = await lstat(target).catch(() => null);
    if (st.isDirectory()) {
      if (there && !there.isDirectory()) throw refuse(relPath, `is a directory, where there is a ${there.isSymbolicLink() ? 'symlink' : 'file'}`);
      if (!there) await mkdir(target);
      await copyDir(source, target, relPath, refuse);
      await chmod(target, st.mode & 0o7777);
      await utimes(target, st.atimeMs / 1000, st.mtimeMs / 1000);
      continue;
    }
    if (there?.isDirectory()) throw refuse(relPath, 'is a file or link, where there is a directory');
    if (!st.isFile() && !st.isSymbolicLink()) throw refuse(relPath, 'is neither a file, a directory nor a symlink');
    if (there) await unlink(target);
    if (st.isSymbolicLink()) {
      await symlink(await readlink(source, { encoding: 'buffer' }), target);
      await lutimes(target, st.atimeMs / 1000, st.mtimeMs / 1000);
    } else {
      await copyFile(source, target);
      await chmod(target, st.mode & 0o7777);
      await utimes(target, st.atimeMs / 1000, st.mtimeMs / 1000);
    }
  }
}
