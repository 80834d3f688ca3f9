// The tar writer, checked by GNU tar itself: what `tar -tvv --xattrs` lists
// and what `tar -x --xattrs` restores must be exactly what was written.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LayerEntry } from '../../../src/cache/layer-entry.js';
import { tarChunks } from '../../../src/cache/tar-writer.js';
import { scratchDir } from '../../support/run-dir.js';

const T = 1_700_000_000n * 1_000_000_000n;

function entry(p: string, kind: LayerEntry['kind'], extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path: p, kind, mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: T, xattrs: [], ...extra };
}

async function writeTar(dir: string, entries: LayerEntry[], opts = {}): Promise<string> {
  const file = path.join(dir, 'out.tar');
  await writeFile(file, Buffer.concat([...tarChunks(entries, opts)]));
  return file;
}

describe('tar writer', () => {
  it('writes every member type that GNU tar lists back with numbers, modes and links', async () => {
    const dir = await scratchDir('tarw');
    const src = path.join(dir, 'hello');
    await writeFile(src, 'hello\n');
    const file = await writeTar(dir, [
      entry('.', 'dir', { mode: 0o755 }),
      entry('bin', 'dir', { mode: 0o755 }),
      entry('bin/su', 'file', { mode: 0o4755, uid: 0, gid: 0, size: 6, source: src }),
      entry('bin/su2', 'hardlink', { mode: 0o4755, linkTarget: 'bin/su' }),
      entry('dev', 'dir', { mode: 0o755 }),
      entry('dev/null', 'char', { mode: 0o666, devMajor: 1, devMinor: 3 }),
      entry('dev/sda', 'block', { mode: 0o660, gid: 6, devMajor: 8, devMinor: 0 }),
      entry('fifo', 'fifo', { mode: 0o600, uid: 1000, gid: 1000 }),
      entry('link', 'symlink', { mode: 0o777, linkTarget: '/etc/os-release' }),
      entry('shared', 'dir', { mode: 0o3777, gid: 50 }),
    ]);
    const { stdout } = await execa('tar', ['--numeric-owner', '-tvvf', file], { env: { TZ: 'UTC' } });
    const lines = stdout.split('\n').map((l) => l.replace(/\s+/g, ' '));
    expect(lines).toEqual([
      'drwxr-xr-x 0/0 0 2023-11-14 22:13 ./',
      'drwxr-xr-x 0/0 0 2023-11-14 22:13 bin/',
      '-rwsr-xr-x 0/0 6 2023-11-14 22:13 bin/su',
      'hrwsr-xr-x 0/0 0 2023-11-14 22:13 bin/su2 link to bin/su',
      'drwxr-xr-x 0/0 0 2023-11-14 22:13 dev/',
      'crw-rw-rw- 0/0 1,3 2023-11-14 22:13 dev/null',
      'brw-rw---- 0/6 8,0 2023-11-14 22:13 dev/sda',
      'prw------- 1000/1000 0 2023-11-14 22:13 fifo',
      'lrwxrwxrwx 0/0 0 2023-11-14 22:13 link -> /etc/os-release',
      'drwxrwsrwt 0/50 0 2023-11-14 22:13 shared/',
    ]);
  });

  it('stores xattrs as SCHILY.xattr records that GNU tar restores', async () => {
    const dir = await scratchDir('tarw-x');
    const src = path.join(dir, 'data');
    await writeFile(src, 'x');
    const value = Buffer.from([0, 1, 2, 0x0a, 0xff, 0x3d]);
    const file = await writeTar(dir, [
      entry('f', 'file', { size: 1, source: src, xattrs: [['user.bin', value], ['user.text', Buffer.from('a b=c')]] }),
    ]);
    const { stdout } = await execa('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', file]);
    expect(stdout).toContain('x: 6 user.bin');
    expect(stdout).toContain('x: 5 user.text');
    const out = path.join(dir, 'x');
    await mkdir(out);
    await execa('tar', ['--xattrs', '--xattrs-include=*', '-xf', file, '-C', out]);
    const dump = await execa('getfattr', ['-d', '-e', 'hex', path.join(out, 'f')]);
    expect(dump.stdout).toContain(`user.bin=0x${value.toString('hex')}`);
    expect(dump.stdout).toContain(`user.text=0x${Buffer.from('a b=c').toString('hex')}`);
  });

  it('handles names and link targets beyond ustar limits, big owners and nanosecond mtimes', async () => {
    const dir = await scratchDir('tarw-long');
    const src = path.join(dir, 'data');
    await writeFile(src, 'long');
    const deep = `${'d'.repeat(120)}/${'é'.repeat(90)}`;
    const file = await writeTar(dir, [
      entry(deep.split('/')[0]!, 'dir', { mode: 0o755 }),
      entry(deep, 'file', { size: 4, source: src, uid: 4_000_000, gid: 3_000_000, mtimeNs: T + 123_456_789n }),
      entry('s', 'symlink', { mode: 0o777, linkTarget: `/${'t'.repeat(300)}` }),
    ]);
    const listed = await execa('tar', ['--numeric-owner', '--full-time', '-tvf', file], { env: { TZ: 'UTC' } });
    const stdout = listed.stdout.replace(/ +/g, ' ');
    expect(stdout).toContain(`4000000/3000000 4 2023-11-14 22:13:20.123456789 ${deep}`);
    expect(stdout).toContain(`s -> /${'t'.repeat(300)}`);
    const out = path.join(dir, 'x');
    await mkdir(out);
    await execa('tar', ['--numeric-owner', '-p', '-xf', file, '-C', out]);
    const st = await lstat(path.join(out, deep), { bigint: true });
    expect([st.uid, st.gid, st.mtimeNs]).toEqual([4_000_000n, 3_000_000n, T + 123_456_789n]);
    expect(await readFile(path.join(out, deep), 'utf8')).toBe('long');
  });

  it('is deterministic and clamps mtimes to SOURCE_DATE_EPOCH', async () => {
    const dir = await scratchDir('tarw-det');
    const src = path.join(dir, 'data');
    await writeFile(src, Buffer.alloc(3 * 1024 * 1024 + 7, 7));
    const entries = [entry('big', 'file', { size: 3 * 1024 * 1024 + 7, source: src, mtimeNs: T + 5n }), entry('old', 'fifo', { mtimeNs: 1000n * 1_000_000_000n })];
    const sha = (bufs: Buffer[]): string => createHash('sha256').update(Buffer.concat(bufs)).digest('hex');
    expect(sha([...tarChunks(entries)])).toBe(sha([...tarChunks(entries)]));
    const file = await writeTar(dir, entries, { sourceDateEpoch: 1_600_000_000 });
    const { stdout } = await execa('tar', ['--full-time', '-tvf', file], { env: { TZ: 'UTC' } });
    expect(stdout).toMatch(/3145735 2020-09-13 12:26:40 big/);
    expect(stdout).toMatch(/1970-01-01 00:16:40 old/);
  });

  it('fails when a file changed size since the walk', async () => {
    const dir = await scratchDir('tarw-grow');
    const src = path.join(dir, 'data');
    await writeFile(src, 'longer than declared');
    expect(() => [...tarChunks([entry('f', 'file', { size: 3, source: src })])]).toThrow(/grew/);
    expect(() => [...tarChunks([entry('f', 'file', { size: 300, source: src })])]).toThrow(/shrank/);
  });
});
