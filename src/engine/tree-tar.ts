// `-t tar`: the final root tree as one tar file, with numeric owners, modes,
// symlinks, hard links and xattrs (file capabilities) preserved, names
// sorted so the same tree gives the same archive.
import { execa } from 'execa';
import { FailureError } from '../failure.js';

export async function writeTreeTar(tree: string, file: string): Promise<void> {
  const r = await execa(
    'tar',
    ['--create', '--file', file, '--directory', tree, '--numeric-owner', '--xattrs', "--xattrs-include=*", '--acls', '--sort=name', '--format=posix', '--pax-option=delete=atime,delete=ctime', '.'],
    { reject: false, stdin: 'ignore' },
  );
  // Exit 1 with only "file changed as we read it": a file's ctime moved while
  // tar read it. Tree files are hard links shared with tree checkpoints
  // (src/cache/checkpoints.ts), and another build linking or unlinking them
  // changes their link count, hence their ctime, never their bytes: nothing
  // writes a tree file in place. Any other complaint fails the output.
  const onlyCtime = r.exitCode === 1 && r.stderr.split('\n').every((line) => line.trim() === '' || /: file changed as we read it$/.test(line));
  if (r.exitCode !== 0 && !onlyCtime) {
    throw new FailureError({ reason: 'image-tool-failed', tool: 'tar', args: ['--create', file], exitCode: r.exitCode ?? null, stderrTail: r.stderr.split('\n').slice(-10) });
  }
}
