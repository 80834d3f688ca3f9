// The merged hooks tree, as diskimage-builder builds it: the contents of every
// element directory copied in build order into one directory (so later
// elements' files win), plus imgfactory's helper scripts. Inside the tree it
// is bind-mounted read-only at /tmp/in_target.d; outside it is TMP_HOOKS_PATH.
//
//   hooks/
//     install.d/50-foo          hooks of all elements, by phase
//     environment.d/10-bar      sourced before every hook
//     bin/                      on PATH
//     static/ ...               whatever else the elements ship
//     install.d/40-glean -> simple-init-source-install/40-glean
//                               a chosen install type's hook (linkInstallTypes)
//     imgfactory/run-hook       imgfactory's helpers (helper-scripts.ts)
import { chmod, copyFile, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Element } from '../elements/element.js';
import { FailureError } from '../failure.js';
import { HELPER_DIR, HELPERS } from '../steps/helper-scripts.js';

export async function makeHooksTree(elements: Element[], dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  // Element by element, in order, so later elements win. An element may sit inside another's directory (DIB's
  // debian-minimal/test-elements/stable-vm, put on the path as run_functests.sh does): it is copied twice.
  for (const e of elements) await copyInto(Buffer.from(e.dir), Buffer.from(dest), { element: e.name, dir: e.dir });
  // Always present, so every build digests and sources them the same way.
  for (const d of ['environment.d', 'bin']) await mkdir(path.join(dest, d), { recursive: true });
  const helpers = path.join(dest, HELPER_DIR);
  await mkdir(helpers, { recursive: true });
  for (const [name, text] of Object.entries(HELPERS)) {
    await mkdir(path.dirname(path.join(helpers, name)), { recursive: true });
    await writeFile(path.join(helpers, name), text);
    await chmod(path.join(helpers, name), 0o755);
  }
  await chmod(dest, 0o755);
}

/**
 * Makes the links DIB's install-types hook makes (`ln -sf <dir>/<name> .` in
 * install.d), for the install-type steps the plan holds: run-hook runs
 * `$TMP_HOOKS_PATH/install.d/<name>`, so the hook runs by the path (its $0)
 * it has in DIB. A file of that name copied from an element is replaced, as
 * `ln -sf` replaces it (its step is not planned). Called once the plan is
 * made, before any step runs.
 */
export async function linkInstallTypes(dest: string, links: readonly { name: string; dir: string }[]): Promise<void> {
  for (const { name, dir } of links) {
    const at = path.join(dest, 'install.d', name);
    await rm(at, { force: true });
    await symlink(`${dir}/${name}`, at);
  }
}

const SLASH = Buffer.from('/');
const join = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, SLASH, name]);

/**
 * Copies the contents of `src` into `dest` as `cp -a --no-preserve=ownership
 * src/. dest` does, in this process (a cp per element cost ~20 ms each: a
 * second of the controller's no-op build): files with their mode and times
 * (to the microsecond: Node sets no finer ones; no key holds them),
 * symlinks as they are, directories merged into what is there. Names are
 * bytes, as cp takes them. A file or link already at a path (an earlier
 * element's) is removed first, so nothing is written through a link an
 * earlier element left. A directory where the element has a file, or the
 * other way round, and a file that is none of file, directory or symlink
 * (a fifo, a device) are refused, naming the element and the path.
 */
async function copyInto(src: Buffer, dest: Buffer, from: { element: string; dir: string }, rel = ''): Promise<void> {
  const refuse = (name: string, message: string): FailureError => new FailureError({ reason: 'malformed-element', at: { element: from.element, file: path.join(from.dir, rel, name) }, message });
  for (const raw of await readdir(src, { encoding: 'buffer' })) {
    const name = raw.toString();
    const source = join(src, raw);
    const target = join(dest, raw);
    const st = await lstat(source);
    const there = await lstat(target).catch(() => null);
    if (st.isDirectory()) {
      if (there && !there.isDirectory()) throw refuse(name, 'is a directory where an element before it in the build order has a file of that name');
      if (!there) await mkdir(target);
      await copyInto(source, target, from, path.join(rel, name));
      await chmod(target, st.mode & 0o7777);
      await utimes(target, st.atimeMs / 1000, st.mtimeMs / 1000);
      continue;
    }
    if (there?.isDirectory()) throw refuse(name, 'is a file where an element before it in the build order has a directory of that name');
    if (!st.isFile() && !st.isSymbolicLink()) throw refuse(name, 'is neither a file, a directory nor a symlink: an element ships only those');
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
