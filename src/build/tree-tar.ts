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
  if (r.exitCode !== 0) {
    throw new FailureError({ reason: 'image-tool-failed', tool: 'tar', args: ['--create', file], exitCode: r.exitCode ?? null, stderrTail: r.stderr.split('\n').slice(-10) });
  }
}
