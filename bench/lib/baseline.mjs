// The two sides of a before/after run (dib-compare.mjs --baseline): the
// current checkout as it is, and a baseline commit checked out as a git
// worktree under the work dir, sharing the checkout's node_modules and
// compiled with its TypeScript.
import { execa } from 'execa';
import { readdir, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { timed } from './measure.mjs';

const git = (dir, ...args) => execa('git', ['-C', dir, ...args], { reject: false });

/** `rev` as a commit of the checkout at `root`: { full, short }. Throws if it is none. */
export async function resolveCommit(root, rev) {
  const full = (await git(root, 'rev-parse', '--verify', '--quiet', `${rev}^{commit}`)).stdout;
  if (!full) throw new Error(`--baseline ${rev}: not a commit of ${root}`);
  return { full, short: (await git(root, 'rev-parse', '--short', full)).stdout };
}

/** The checkout's short commit, and whether the code differs from it. */
export async function describeCheckout(root) {
  const head = (await git(root, 'rev-parse', '--short', 'HEAD')).stdout || 'unknown';
  const changed = (await git(root, 'status', '--porcelain', '--', 'src', 'bin', 'package.json', 'package-lock.json', 'tsconfig.json')).stdout;
  return changed ? `${head} with uncommitted changes` : head;
}

/** Warnings about what the two sides would run: a dist/ older than src/, dependencies that differ. */
export async function checkSides(root, commit) {
  const warnings = [];
  const built = await stat(path.join(root, 'dist/cli/main.js')).catch(() => null);
  const src = path.join(root, 'src');
  let newer = 0;
  for (const f of (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'))) {
    if ((await stat(path.join(src, f))).mtimeMs > (built?.mtimeMs ?? 0)) newer += 1;
  }
  if (newer) warnings.push(`${root}/dist is older than ${newer} .ts files of src/: the checkout's side runs dist/, so compile it first (npx tsc -p tsconfig.json)`);
  if (commit && (await git(root, 'diff', '--quiet', commit.full, '--', 'package.json', 'package-lock.json')).exitCode) {
    warnings.push(`package.json or package-lock.json differ between ${commit.short} and the checkout: the baseline runs with the checkout's node_modules`);
  }
  return warnings;
}

/**
 * A worktree of `commit` at `dir` (reused when it is already there, at that
 * commit, unmodified), with `root`'s node_modules linked in, compiled.
 * Returns the path of its CLI.
 */
export async function prepareBaseline(root, dir, commit, log) {
  const head = (await git(dir, 'rev-parse', 'HEAD')).stdout;
  const dirty = (await git(dir, 'status', '--porcelain', '--untracked-files=no')).stdout;
  if (head === commit.full && !dirty && (await stat(path.join(dir, '.git')).catch(() => null))) {
    console.log(`baseline: reusing the worktree ${dir} at ${commit.short}`);
  } else {
    console.log(`baseline: making a worktree of ${commit.short} at ${dir}`);
    await git(root, 'worktree', 'remove', '--force', dir);
    await rm(dir, { recursive: true, force: true });
    const add = await git(root, 'worktree', 'add', '--force', '--detach', dir, commit.full);
    if (add.exitCode) throw new Error(`git worktree add ${dir} ${commit.short}: ${add.stderr}`);
  }
  await rm(path.join(dir, 'node_modules'), { recursive: true, force: true });
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const tsc = await timed('node', [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, log });
  if (tsc.exitCode) throw new Error(`compiling the baseline ${commit.short} failed (exit ${tsc.exitCode}), see ${log}`);
  console.log(`baseline: compiled ${commit.short} in ${tsc.seconds} s`);
  return path.join(dir, 'bin/imgfactory.js');
}
