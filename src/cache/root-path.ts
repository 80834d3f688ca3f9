// Archive member names made safe, and paths resolved inside a root tree the
// way a chroot would resolve them: a symlink met on the way (absolute or
// relative) is followed, but never above rootDir. Layer extraction only ever
// touches paths returned from here, so no member or link can write outside.
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** Thrown for names that no layer may contain. */
export class UnsafePathError extends Error {}

/**
 * Normalises a member name to an archive path ('.' for the root): strips
 * leading './' and trailing '/', and rejects absolute names, '..', NUL and
 * empty components.
 */
export function safeArchivePath(name: string): string {
  if (name.includes('\0')) throw new UnsafePathError(`NUL in member name`);
  if (name.startsWith('/')) throw new UnsafePathError(`absolute member name: ${name}`);
  const parts = name.split('/').filter((p, i, all) => !(p === '' && i === all.length - 1));
  const kept: string[] = [];
  for (const part of parts) {
    if (part === '..') throw new UnsafePathError(`'..' in member name: ${name}`);
    if (part === '.') continue;
    if (part === '') throw new UnsafePathError(`empty component in member name: ${name}`);
    kept.push(part);
  }
  return kept.length === 0 ? '.' : kept.join('/');
}

/** Linux's limit on symlinks followed in one lookup. */
const MAX_LINK_HOPS = 40;

/**
 * Resolves directory `rel` (an archive path) inside `root` with chroot
 * semantics. Missing components are created (0755, root-owned) when `create`
 * is set, else the result is undefined. Throws if a component is not a dir.
 */
export function resolveDirInRoot(root: string, rel: string, create: boolean): string | undefined {
  const queue = rel === '.' ? [] : rel.split('/');
  const real: string[] = [];
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      real.pop();
      continue;
    }
    const candidate = path.join(root, ...real, part);
    const st = lstatSync(candidate, { throwIfNoEntry: false });
    if (st === undefined) {
      if (!create) return undefined;
      mkdirSync(candidate, { mode: 0o755 });
      real.push(part);
    } else if (st.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) throw new UnsafePathError(`too many symlinks resolving ${rel}`);
      const target = readlinkSync(candidate);
      if (target.startsWith('/')) real.length = 0;
      queue.unshift(...target.split('/'));
    } else if (st.isDirectory()) {
      real.push(part);
    } else {
      throw new UnsafePathError(`${rel}: '${path.join(...real, part)}' is not a directory`);
    }
  }
  return path.join(root, ...real);
}
