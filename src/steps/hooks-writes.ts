// What a hook run outside the tree writes into the hooks tree, carried in
// its layer. diskimage-builder's extra-data.d hooks hand files to the hooks
// that run later inside the tree through $TMP_HOOKS_PATH (devuser's
// authorized keys, local-config's, openstack-ci-mirrors' mirror_info.sh):
// DIB mounts that directory at /tmp/in_target.d. imgfactory makes the hooks
// tree afresh for every build, so a write there that lived only in the
// hooks tree would be lost whenever the hook's step came from the cache, and
// the hooks after it would run without the file (or, cached, would stand on
// a tree made with it). So:
//
//   - before an outside step runs, the hooks tree is listed (`listHooks`);
//   - after it, whatever it added or changed there is copied into the step's
//     upper dir under tmp/in_target.d (`captureHooksWrites`): it is part of
//     the layer, keyed, stored and applied with the rest of the step's change;
//   - before any step runs, what the tree holds under tmp/in_target.d is
//     copied over the hooks tree (`syncHooksFromTree`), so the hooks tree a
//     step sees is the same whether the writes came from a hook run now or
//     from a cached layer.
//
// The finalise cleanup empties /tmp, and `dropHeldHooks` removes what the
// hooks tree mounted over tmp/in_target.d hides from it: none of it reaches
// the image.
// Invariant: after syncHooksFromTree, every file under <tree>/tmp/in_target.d
// is in the hooks tree with the same bytes, mode and link target.
import { copyFile, chmod, lstat, mkdir, readdir, readlink, rm, symlink, chown, utimes } from 'node:fs/promises';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { mustRun } from '../process/run.js';
import { copyOver } from '../util/copy-over.js';
import { dirIn } from '../util/dir-in.js';
import { dirInTree } from '../util/tree-path.js';
import { IN_TARGET_HOOKS } from './hook-env.js';

/** The hooks tree's place in the root tree, relative to its root. */
const IN_TREE = IN_TARGET_HOOKS.slice(1);

/** The hooks tree as listed: relative path -> what tells that an entry was written (and whether it is a directory). */
export type Listing = Map<string, { sig: string; dir: boolean }>;

/** Every entry under `hooksDir`: type and mode, size, mtime, inode, link target. */
export async function listHooks(hooksDir: string): Promise<Listing> {
  const out: Listing = new Map();
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(path.join(hooksDir, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(hooksDir, r);
      const st = await lstat(abs, { bigint: true });
      const link = st.isSymbolicLink() ? await readlink(abs) : '';
      out.set(r, { sig: `${st.mode} ${st.size} ${st.mtimeNs} ${st.ino} ${link}`, dir: st.isDirectory() });
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out;
}

/**
 * Copies what changed under `hooksDir` since `before` into `upper` (the
 * step's overlay upper dir) under tmp/in_target.d, creating tmp and
 * tmp/in_target.d there with the attributes the tree has for them. Returns
 * the relative paths carried, and those removed (not carried: a later
 * build whose step is cached does not remove them; said in docs/dib.md).
 */
export async function captureHooksWrites(hooksDir: string, before: Listing, upper: string, tree: string): Promise<{ carried: string[]; removed: string[] }> {
  const after = await listHooks(hooksDir);
  // A directory counts when it is new (a file written into an old one changes its mtime, not what is carried).
  const carried = [...after]
    .filter(([rel, now]) => (now.dir ? !before.has(rel) : before.get(rel)?.sig !== now.sig))
    .map(([rel]) => rel)
    .sort();
  const removed = [...before.keys()].filter((rel) => !after.has(rel));
  if (carried.length === 0) return { carried, removed };
  await ensureDirLike(upper, 'tmp', tree, 0o1777);
  await ensureDirLike(upper, IN_TREE, tree, 0o755);
  for (const rel of carried) {
    await notALink(upper, path.join(IN_TREE, path.dirname(rel)));
    await copyEntry(path.join(hooksDir, rel), path.join(upper, IN_TREE, rel));
  }
  return { carried, removed };
}

/** Copies what the tree holds under tmp/in_target.d over `hooksDir`. */
export async function syncHooksFromTree(tree: string, hooksDir: string): Promise<void> {
  // Found as a hook in the tree finds it: through the tree's own links, never the host's (util/tree-path.ts).
  const held = await dirInTree(tree, IN_TARGET_HOOKS);
  if (held === null || (await readdir(held)).length === 0) return;
  // What a layer carries here was written by a hook, or came from another runner's cache: never written through a link.
  await copyOver(held, hooksDir, (rel, problem) => new FailureError({ reason: 'io', what: `copying ${path.join(IN_TARGET_HOOKS, rel)} from the tree into the hooks tree`, message: `it ${problem}` }));
}

/**
 * Removes tmp/in_target.d from the tree in the step's change (a whiteout in
 * `upper`, overlayfs's own way): the finalise cleanup inside the tree cannot,
 * the hooks tree being mounted over it there.
 */
export async function dropHeldHooks(tree: string, upper: string): Promise<void> {
  if (!('at' in (await dirIn(tree, IN_TREE)))) return;
  await ensureDirLike(upper, 'tmp', tree, 0o1777);
  await rm(path.join(upper, IN_TREE), { recursive: true, force: true });
  await mustRun('mknod', [path.join(upper, IN_TREE), 'c', '0', '0']);
}

/**
 * The upper dir is what the step wrote into the tree, and a hook outside the
 * tree writes it through $TARGET_ROOT: a link it left there (`tmp -> /etc`)
 * must not take imgfactory's own writes, made as root on the host, anywhere
 * (util/dir-in.ts). Throws naming the first path on the way to `rel` that
 * is there and is not a directory; says whether `rel` itself is there.
 */
async function notALink(upper: string, rel: string): Promise<boolean> {
  const found = await dirIn(upper, rel);
  if ('blocked' in found) {
    throw new FailureError({ reason: 'io', what: `carrying the writes into $TMP_HOOKS_PATH into the step's layer`, message: `the step left /${found.blocked} in the tree as a ${found.link ? 'symlink' : 'file'}, where they go: not followed` });
  }
  return 'at' in found;
}

/**
 * `rel` in `upper` as a directory (never through a link: notALink), made when
 * missing with the attributes `rel` has in `tree` (else `mode`), read without
 * following a link there: a tree whose /tmp is an absolute link would give
 * the host's directory's owner and mode.
 */
async function ensureDirLike(upper: string, rel: string, tree: string, mode: number): Promise<void> {
  if (await notALink(upper, rel)) return;
  const dir = path.join(upper, rel);
  await mkdir(dir);
  const inTree = await dirIn(tree, rel);
  const model = 'at' in inTree ? await lstat(inTree.at) : null;
  if (model) {
    await chown(dir, model.uid, model.gid);
    await chmod(dir, model.mode & 0o7777);
    await utimes(dir, model.atime, model.mtime);
  } else await chmod(dir, mode);
}

/** Copies one entry of the hooks tree to `to`, whose parents are no links (captureHooksWrites); what was at `to` is replaced, never written through. */
async function copyEntry(from: string, to: string): Promise<void> {
  const st = await lstat(from);
  await mkdir(path.dirname(to), { recursive: true });
  const there = await lstat(to).catch(() => null);
  if (there && !(there.isDirectory() && st.isDirectory())) await rm(to, { recursive: true });
  if (st.isDirectory()) {
    await mkdir(to, { recursive: true });
    await chmod(to, st.mode & 0o7777);
  } else if (st.isSymbolicLink()) {
    await symlink(await readlink(from), to);
  } else if (st.isFile()) {
    await copyFile(from, to);
    await chmod(to, st.mode & 0o7777);
  }
}
