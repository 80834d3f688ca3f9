// The tree a build tars shares its files' inodes with tree checkpoints, and
// other builds link and unlink them while tar reads: their ctime moves, their
// bytes do not. GNU tar calls that "file changed as we read it" (exit 1);
// writeTreeTar must still give a whole, correct archive.
import { execa, type ResultPromise } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTreeTar } from '../../../src/engine/tree-tar.js';
import { scratchDir } from '../../support/run-dir.js';

/** Links and unlinks `file` from `dir` until stopped: its link count (and ctime) keeps changing. */
function churnLinks(file: string, dir: string): ResultPromise {
  return execa('sh', ['-c', 'while :; do ln -f "$1" "$2/link"; rm -f "$2/link"; done', 'sh', file, dir], { reject: false });
}

describe('writeTreeTar', () => {
  it('writes a correct archive while other builds link and unlink the tree files', async () => {
    const dir = await scratchDir('tree-tar');
    const tree = path.join(dir, 'tree');
    await mkdir(path.join(tree, 'usr/lib'), { recursive: true });
    const big = path.join(tree, 'usr/lib/big.so');
    const bytes = Buffer.alloc(256 * 2 ** 20);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i);
    await writeFile(big, bytes);
    const elsewhere = path.join(dir, 'checkpoint');
    await mkdir(elsewhere);

    const churn = churnLinks(big, elsewhere);
    try {
      // The condition is real here: plain GNU tar complains about it.
      const plain = await execa('tar', ['--create', '--file', path.join(dir, 'plain.tar'), '--directory', tree, '.'], { reject: false });
      expect(plain.exitCode).toBe(1);
      expect(plain.stderr).toMatch(/file changed as we read it/);

      await writeTreeTar(tree, path.join(dir, 'out.tar'));
    } finally {
      churn.kill('SIGKILL');
      await churn;
    }
    const back = path.join(dir, 'back');
    await mkdir(back);
    await execa('tar', ['-xf', path.join(dir, 'out.tar'), '-C', back]);
    expect((await readFile(path.join(back, 'usr/lib/big.so'))).equals(bytes)).toBe(true);
  });

  it('still fails on any other complaint from tar', async () => {
    const dir = await scratchDir('tree-tar');
    await expect(writeTreeTar(path.join(dir, 'no-such-tree'), path.join(dir, 'out.tar'))).rejects.toMatchObject({ failure: { reason: 'tool-failed', tool: 'tar' } });
  });
});
