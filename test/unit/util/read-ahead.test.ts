import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAhead } from '../../../src/util/read-ahead.js';
import { scratchDir } from '../../support/run-dir.js';

describe('readAhead', () => {
  it('reads every regular file to its end, on several threads, and nothing that is not one', async () => {
    const dir = await scratchDir('read-ahead');
    let bytes = 0;
    let files = 0;
    // Enough files for more than one reader thread.
    for (let d = 0; d < 6; d++) {
      await mkdir(path.join(dir, `d${d}`, 'deeper'), { recursive: true });
      for (let f = 0; f < 100; f++) {
        const size = (d * 100 + f) * 37;
        await writeFile(path.join(dir, `d${d}`, f % 2 ? 'deeper' : '', `f${f}`), Buffer.alloc(size, 1));
        bytes += size;
        files++;
      }
    }
    await writeFile(path.join(dir, 'big'), Buffer.alloc(3 << 20, 2));
    bytes += 3 << 20;
    files++;
    // Each of these would block or never end if opened or followed.
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    await symlink('/dev/zero', path.join(dir, 'zero'));
    await symlink('fifo', path.join(dir, 'to-fifo'));
    await symlink('/dev', path.join(dir, 'dev'));
    await symlink('d0', path.join(dir, 'again'));

    expect(await readAhead(dir).done).toEqual({ files, bytes });
  });

  it('never fails: a tree that is not there reads as nothing, and stop() after the end gives the totals', async () => {
    const dir = await scratchDir('read-ahead-gone');
    const gone = readAhead(path.join(dir, 'missing'));
    expect(await gone.done).toEqual({ files: 0, bytes: 0 });
    await writeFile(path.join(dir, 'one'), 'abc');
    const one = readAhead(dir);
    await one.done;
    expect(await one.stop()).toEqual({ files: 1, bytes: 3 });
  });

  it('stop() before the walk ends reads nothing further and resolves', async () => {
    const dir = await scratchDir('read-ahead-stop');
    for (let d = 0; d < 50; d++) {
      await mkdir(path.join(dir, `d${d}`));
      await writeFile(path.join(dir, `d${d}`, 'f'), 'x');
    }
    const r = readAhead(dir);
    expect(await r.stop()).toEqual({ files: 0, bytes: 0 });
  });
});
