// A build's private working directory under the build root (default
// ./build), and the clean-up of directories that killed builds left behind.
//
//   build/
//     .sandbox/                  sandbox records of running steps (all builds)
//     <image>-<pid>-<rand>/
//       owner.json               {pid, startTime}: is the build still alive?
//       scratch                  when the work dirs are in memory (scratch-fs.ts):
//                                their directory, /dev/shm/imgfactory-<image>-<pid>-<rand>;
//                                otherwise they are right here:
//       tree/                    the root tree so far (layers applied)
//       hooks/                   the merged hooks tree
//       step/{upper,work,merged} the running step's overlay
//       spool/                   layer blobs on their way in or out
//     logs/<image>-<time>/NNN-<step>.log   one log per built step; kept after
//                              the build (a failure message points here),
//                              the newest KEEP_LOGS runs per image
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readMountInfo, mountsUnder } from '../sandbox/mountinfo.js';
import { recoverStale } from '../sandbox/sandbox.js';
import { isAlive, killProcessesIn, processIdOf, type ProcessId } from '../sandbox/processes.js';
import { removeAbandoned } from '../output/publish.js';

export interface BuildDir {
  root: string;
  /** Where tree, hooks, step and spool are: `root` itself, or a directory on a tmpfs. */
  work: string;
  tree: string;
  hooks: string;
  step: { upper: string; work: string; merged: string };
  spool: string;
  logs: string;
}

const KEEP_LOGS = 10;
const SCRATCH_FILE = 'scratch';

/** A build directory under `buildRoot`; its work dirs go under `scratchDir` when given (a tmpfs). */
export async function createBuildDir(buildRoot: string, image: string, scratchDir: string | null = null): Promise<BuildDir> {
  await mkdir(buildRoot, { recursive: true });
  const safe = image.replace(/[^A-Za-z0-9._-]/g, '_');
  const root = await mkdtemp(path.join(path.resolve(buildRoot), `${safe}-${process.pid}-`));
  await writeFile(path.join(root, 'owner.json'), JSON.stringify(await processIdOf(process.pid)));
  let work = root;
  if (scratchDir !== null) {
    work = await mkdtemp(path.join(scratchDir, `imgfactory-${safe}-${process.pid}-`));
    await writeFile(path.join(root, SCRATCH_FILE), work);
  }
  const dir: BuildDir = {
    root,
    work,
    tree: path.join(work, 'tree'),
    hooks: path.join(work, 'hooks'),
    step: { upper: path.join(work, 'step', 'upper'), work: path.join(work, 'step', 'work'), merged: path.join(work, 'step', 'merged') },
    spool: path.join(work, 'spool'),
    logs: await newLogDir(path.join(path.resolve(buildRoot), 'logs'), safe),
  };
  for (const d of [dir.tree, dir.hooks, dir.spool, dir.logs]) await mkdir(d, { recursive: true });
  return dir;
}

/**
 * Fresh, empty overlay directories for the next step. The upper dir takes the
 * tree root's owner and mode: overlayfs shows the upper dir's attributes for
 * the merged root, and the layer records them.
 */
export async function resetStepDirs(dir: BuildDir): Promise<void> {
  await rm(path.join(dir.work, 'step'), { recursive: true, force: true });
  for (const d of Object.values(dir.step)) await mkdir(d, { recursive: true });
  const root = await stat(dir.tree);
  await chown(dir.step.upper, root.uid, root.gid);
  await chmod(dir.step.upper, root.mode & 0o7777);
  await utimes(dir.step.upper, root.atime, root.mtime);
}

export async function removeBuildDir(dir: BuildDir): Promise<void> {
  if (dir.work !== dir.root && !(await removeUnlessMounted(dir.work))) return;
  await removeUnlessMounted(dir.root);
}

/**
 * Removes a build directory, but never one with something mounted below it:
 * a recursive delete through a bind mount of /dev or /sys would damage the
 * host. Returns false (and leaves it for recoverBuilds) in that case.
 */
async function removeUnlessMounted(root: string): Promise<boolean> {
  if (mountsUnder(await readMountInfo(), root).length > 0) return false;
  await rm(root, { recursive: true, force: true });
  return true;
}

/**
 * Undoes what builds killed outright left under `buildRoot` (and, under temp
 * names, in `outputDir`): processes still working in their directories,
 * mounts, the directories themselves. Returns what it did.
 */
export async function recoverBuilds(buildRoot: string, outputDir?: string): Promise<string[]> {
  const root = path.resolve(buildRoot);
  const messages = await recoverStale(root, sandboxStateDir(root));
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith('.') || name === 'logs') continue;
    const dir = path.join(root, name);
    const owner = await readFile(path.join(dir, 'owner.json'), 'utf8').then(
      (t) => JSON.parse(t) as ProcessId,
      () => null,
    );
    if (owner && (await isAlive(owner))) continue;
    const scratch = await readFile(path.join(dir, SCRATCH_FILE), 'utf8').catch(() => null);
    // A program of the dead build still at work there (chrooted into its tree, or working in it) would write on while it is removed.
    for (const where of scratch === null ? [dir] : [dir, scratch]) {
      const killed = await killProcessesIn(where);
      if (killed.length > 0) messages.push(`killed ${killed.length} process(es) still working in ${where}`);
    }
    // Its mounts there are outside the build root, which recoverStale swept above.
    if (scratch !== null) messages.push(...(await recoverStale(scratch, sandboxStateDir(root))));
    if (scratch !== null && !(await removeUnlessMounted(scratch))) {
      messages.push(`left ${scratch} (and ${dir}) in place: something is still mounted below it (see findmnt)`);
      continue;
    }
    if (await removeUnlessMounted(dir)) messages.push(`removed the build directory ${dir} of a build that is gone`);
    else messages.push(`left ${dir} in place: something is still mounted below it (see findmnt)`);
  }
  if (outputDir !== undefined) messages.push(...(await removeAbandoned(outputDir)));
  return messages;
}

export function sandboxStateDir(buildRoot: string): string {
  return path.join(path.resolve(buildRoot), '.sandbox');
}

/** A new log directory for this run; older runs of the same image beyond KEEP_LOGS are removed. */
async function newLogDir(logRoot: string, image: string): Promise<string> {
  await mkdir(logRoot, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '').replace('Z', 'Z');
  const dir = await mkdtemp(path.join(logRoot, `${image}-${stamp}-`));
  const runs = (await readdir(logRoot)).filter((n) => n.startsWith(`${image}-`) && /^\d{8}T/.test(n.slice(image.length + 1))).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - KEEP_LOGS))) await rm(path.join(logRoot, old), { recursive: true, force: true });
  return dir;
}
