// getfattr/setfattr batches: odd file names and binary values survive a
// write and a read, and symlinks are never followed.
import { execa } from 'execa';
import { symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDump, quote, readXattrs, unquote, writeXattrs } from '../../../src/cache/xattrs.js';
import { scratchDir } from '../../support/run-dir.js';

describe('xattrs', () => {
  it('quotes and unquotes as getfattr does', () => {
    for (const s of ['plain', 'a b', 'new\nline', 'back\\slash', 'eq=ual', 'é ü 日本', 'tab\t']) {
      expect(unquote(Buffer.from(quote(s), 'latin1').toString('latin1'))).toBe(s);
    }
    const into = new Map();
    parseDump(Buffer.from('# file: /x/n\\012l\nuser.b=0sAP8=\nuser.a=0s\n\n'), into);
    expect(into.get('/x/n\nl')).toEqual([['user.a', Buffer.alloc(0)], ['user.b', Buffer.from([0, 0xff])]]);
  });

  it('writes and reads back values on files with awkward names', async () => {
    const dir = await scratchDir('xattrs');
    const names = ['a b', 'n\nl', 'x\\y', 'é', 'e=q'];
    for (const n of names) await writeFile(path.join(dir, n), n);
    await symlink('a b', path.join(dir, 'link'));
    const value = Buffer.from([0, 10, 13, 0x3d, 0x5c, 0xff]);
    await writeXattrs(names.map((n) => [path.join(dir, n), [['user.v', value], ['user.empty', Buffer.alloc(0)]]] as const));
    const got = await readXattrs([...names, 'link'].map((n) => path.join(dir, n)));
    for (const n of names) {
      expect(got.get(path.join(dir, n)), n).toEqual([['user.empty', Buffer.alloc(0)], ['user.v', value]]);
    }
    expect(got.has(path.join(dir, 'link'))).toBe(false); // the symlink's own (none), not its target's
    const direct = await execa('getfattr', ['-n', 'user.v', '-e', 'hex', path.join(dir, 'n\nl')]);
    expect(direct.stdout).toContain(`user.v=0x${value.toString('hex')}`);
  });
});
