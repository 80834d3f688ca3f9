// `-t tar`: the final root tree as one tar file, with numeric owners, modes,
// symlinks, hard links and xattrs (file capabilities) preserved, names
// sorted so the same tree gives the same archive.
import { FailureError, unwrap } from '../failure.js';
import { measureTree } from '../image/index.js';
import { lastLines, run, toolFailed } from '../process/run.js';

export async function writeTreeTar(tree: string, file: string): Promise<void> {
  const args = ['--create', '--file', file, '--directory', tree, '--numeric-owner', '--xattrs', "--xattrs-include=*", '--acls', '--sort=name', '--format=posix', '--pax-option=delete=atime,delete=ctime', '.'];
  const r = unwrap(await run('tar', args, { check: false }));
  // Exit 1 with only "file changed as we read it": a file's ctime moved while
  // tar read it. Tree files are hard links shared with tree checkpoints
  // (src/cache/checkpoints.ts), and another build linking or unlinking them
  // changes their link count, hence their ctime, never their bytes: nothing
  // writes a tree file in place. Any other complaint fails the output.
  const onlyCtime = r.exitCode === 1 && r.stderr.split('\n').every((line) => line.trim() === '' || /: file changed as we read it$/.test(line));
  if (r.exitCode !== 0 && !onlyCtime) {
    throw new FailureError(toolFailed('tar', ['--create', file], r, lastLines(r.stderr, 10)));
  }
}

/** About the bytes the tar of `tree` takes: its files' contents (the tar adds headers and padding). */
export async function treeBytes(tree: string): Promise<number | undefined> {
  const usage = await measureTree(tree);
  return usage.ok ? usage.value.apparentBytes : undefined;
}
