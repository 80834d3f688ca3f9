import { lstat, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { buildEpoch, DEFAULT_EPOCH, makeReproducible } from '../../../src/engine/reproducible-layer.js';
import { scratchDir } from '../../support/run-dir.js';

const EPOCH = 1_700_000_000;
const OLD = 1_600_000_000;

/** A step's change as a build leaves it: files made now, one unpacked from a package (old mtime), volatile files, over a tree. */
async function change(): Promise<{ upper: string; tree: string }> {
  const dir = await scratchDir('reproducible-layer');
  const upper = path.join(dir, 'upper');
  const tree = path.join(dir, 'tree');
  for (const d of ['var/log/apt', 'var/cache/ldconfig', 'etc', 'usr/bin']) await mkdir(path.join(upper, d), { recursive: true });
  await writeFile(path.join(upper, 'var/log/dpkg.log'), '2026-12-01 04:10:01 status installed x:amd64 1\n');
  await writeFile(path.join(upper, 'var/log/apt/history.log'), 'Start-Date: 2026-12-01  04:10:00\n');
  await writeFile(path.join(upper, 'var/cache/ldconfig/aux-cache'), 'inodes and ctimes');
  await writeFile(path.join(upper, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
  await writeFile(path.join(upper, 'etc/made-now'), 'x');
  await writeFile(path.join(upper, 'usr/bin/from-a-package'), 'y');
  await utimes(path.join(upper, 'usr/bin/from-a-package'), OLD, OLD);
  await symlink('made-now', path.join(upper, 'etc/link'));
  await mkdir(path.join(tree, 'var/cache/ldconfig'), { recursive: true });
  return { upper, tree };
}

describe('makeReproducible', () => {
  it('empties logs and the machine id, removes aux-cache (a whiteout where the tree has it), clamps mtimes to the epoch', async () => {
    const { upper, tree } = await change();
    await writeFile(path.join(tree, 'var/cache/ldconfig/aux-cache'), 'older');
    await makeReproducible(upper, tree, EPOCH);
    expect(await readFile(path.join(upper, 'var/log/dpkg.log'), 'utf8')).toBe('');
    expect(await readFile(path.join(upper, 'var/log/apt/history.log'), 'utf8')).toBe('');
    expect(await readFile(path.join(upper, 'etc/machine-id'), 'utf8')).toBe('');
    const aux = await lstat(path.join(upper, 'var/cache/ldconfig/aux-cache'));
    expect(aux.isCharacterDevice() && aux.rdev === 0).toBe(true);
    for (const p of ['', 'var/log', 'var/log/dpkg.log', 'etc', 'etc/made-now', 'etc/link', 'var/cache/ldconfig/aux-cache']) {
      expect((await lstat(path.join(upper, p))).mtimeMs, p).toBe(EPOCH * 1000);
    }
    // Older than the epoch: as the package has it.
    expect((await lstat(path.join(upper, 'usr/bin/from-a-package'))).mtimeMs).toBe(OLD * 1000);
  });

  it('removes aux-cache outright over a tree without it, and over nothing (a base tree)', async () => {
    for (const lower of ['tree', null] as const) {
      const { upper, tree } = await change();
      await makeReproducible(upper, lower === null ? null : tree, EPOCH);
      await expect(lstat(path.join(upper, 'var/cache/ldconfig/aux-cache'))).rejects.toThrow(/ENOENT/);
    }
  });

  it('for a step that reads the host, gives every entry the one mtime, older ones included', async () => {
    const { upper } = await change();
    await makeReproducible(upper, null, EPOCH, { everyMtime: true });
    for (const p of ['', 'usr/bin/from-a-package', 'etc/link']) expect((await lstat(path.join(upper, p))).mtimeMs, p).toBe(EPOCH * 1000);
  });
});

describe('a .pyc Python wrote at import time', () => {
  /** A PEP 552 header: magic, flags, source mtime, source size. */
  const pyc = (flags: number, mtime: number): Buffer => {
    const b = Buffer.alloc(24);
    b.write('\xa7\r\r\n', 0, 'latin1');
    b.writeUInt32LE(flags, 4);
    b.writeUInt32LE(mtime, 8);
    b.writeUInt32LE(10, 12);
    return b;
  };

  it('is removed when it records a source mtime later than the epoch (a whiteout where the tree has it); older or hash-checked ones stay', async () => {
    const { upper, tree } = await change();
    const cache = 'usr/lib/python3/dist-packages/x/__pycache__';
    await mkdir(path.join(upper, cache), { recursive: true });
    await mkdir(path.join(tree, cache), { recursive: true });
    await writeFile(path.join(upper, cache, 'new.cpython-311.pyc'), pyc(0, EPOCH + 3600));
    await writeFile(path.join(upper, cache, 'shadow.cpython-311.pyc'), pyc(0, EPOCH + 60));
    await writeFile(path.join(tree, cache, 'shadow.cpython-311.pyc'), pyc(0, OLD));
    await writeFile(path.join(upper, cache, 'old.cpython-311.pyc'), pyc(0, OLD));
    await writeFile(path.join(upper, cache, 'hashed.cpython-311.pyc'), pyc(3, 0xffffffff));
    await makeReproducible(upper, tree, EPOCH);
    await expect(lstat(path.join(upper, cache, 'new.cpython-311.pyc'))).rejects.toThrow(/ENOENT/);
    const shadow = await lstat(path.join(upper, cache, 'shadow.cpython-311.pyc'));
    expect(shadow.isCharacterDevice() && shadow.rdev === 0).toBe(true);
    expect((await readFile(path.join(upper, cache, 'old.cpython-311.pyc'))).readUInt32LE(8)).toBe(OLD);
    expect((await readFile(path.join(upper, cache, 'hashed.cpython-311.pyc'))).readUInt32LE(4)).toBe(3);
  });
});

describe("elements' volatile paths", () => {
  it('removes what they match from the change, whole directories included, with a whiteout where the tree has it', async () => {
    const { upper, tree } = await change();
    for (const d of ['etc/ssh', 'var/lib/mysql/mysql']) await mkdir(path.join(upper, d), { recursive: true });
    await writeFile(path.join(upper, 'etc/ssh/ssh_host_ed25519_key'), 'secret');
    await writeFile(path.join(upper, 'etc/ssh/ssh_host_ed25519_key.pub'), 'public');
    await writeFile(path.join(upper, 'etc/ssh/sshd_config'), 'kept');
    await writeFile(path.join(upper, 'var/lib/mysql/mysql/user.frm'), 'x');
    await writeFile(path.join(upper, 'var/lib/mysql/ibdata1'), 'y');
    await mkdir(path.join(tree, 'var/lib/mysql'), { recursive: true });
    await writeFile(path.join(tree, 'var/lib/mysql/ibdata1'), 'older');
    expect(await makeReproducible(upper, tree, EPOCH, { volatile: ['etc/ssh/ssh_host_*', 'var/lib/mysql/*', 'nowhere/*'] })).toEqual({ heldVolatile: ['etc/ssh/ssh_host_*', 'var/lib/mysql/*'] });
    expect((await readdir(path.join(upper, 'etc/ssh'))).sort()).toEqual(['sshd_config']);
    expect(await readdir(path.join(upper, 'var/lib/mysql'))).toEqual(['ibdata1']);
    const ib = await lstat(path.join(upper, 'var/lib/mysql/ibdata1'));
    expect(ib.isCharacterDevice() && ib.rdev === 0).toBe(true);
  });
});

describe('a change that holds a link where a directory was (a step made /var or /etc a link to /)', () => {
  it('is not followed: what the link reaches (from here, the host) is neither emptied nor removed', async () => {
    const { upper, tree } = await change();
    const host = path.join(path.dirname(upper), 'host');
    for (const d of ['log', 'ssh', 'cache/ldconfig']) await mkdir(path.join(host, d), { recursive: true });
    await writeFile(path.join(host, 'log', 'syslog'), 'host log\n');
    await writeFile(path.join(host, 'machine-id'), 'host id\n');
    await writeFile(path.join(host, 'ssh', 'ssh_host_ed25519_key'), 'host key\n');
    await writeFile(path.join(host, 'cache/ldconfig/aux-cache'), 'host cache\n');
    await execa('rm', ['-rf', path.join(upper, 'var'), path.join(upper, 'etc')]);
    await symlink(host, path.join(upper, 'var'));
    await symlink(host, path.join(upper, 'etc'));
    expect(await makeReproducible(upper, tree, EPOCH, { volatile: ['etc/ssh/ssh_host_*'] })).toEqual({ heldVolatile: [] });
    expect(await readFile(path.join(host, 'log', 'syslog'), 'utf8')).toBe('host log\n');
    expect(await readFile(path.join(host, 'machine-id'), 'utf8')).toBe('host id\n');
    expect(await readFile(path.join(host, 'ssh', 'ssh_host_ed25519_key'), 'utf8')).toBe('host key\n');
    expect(await readFile(path.join(host, 'cache/ldconfig/aux-cache'), 'utf8')).toBe('host cache\n');
  });
});

describe('whether the change held a volatile path (cache/keys.ts volatileFree)', () => {
  it('names none when none of the search path\'s paths matches anything in the change', async () => {
    const { upper, tree } = await change();
    expect(await makeReproducible(upper, tree, EPOCH, { volatile: [], scope: ['etc/ssh/ssh_host_*', 'var/lib/mysql/*'] })).toEqual({ heldVolatile: [] });
  });

  it('names each path of the search path that matches, even one the image does not declare (nothing is removed for it)', async () => {
    const { upper, tree } = await change();
    expect(await makeReproducible(upper, tree, EPOCH, { volatile: [], scope: ['etc/made-*'] })).toEqual({ heldVolatile: ['etc/made-*'] });
    expect(await readFile(path.join(upper, 'etc/made-now'), 'utf8')).toBe('x');
  });

  it('names none for a whiteout: removing a path holds nothing of it', async () => {
    const { upper, tree } = await change();
    await mkdir(path.join(upper, 'etc/ssh'), { recursive: true });
    await execa('mknod', [path.join(upper, 'etc/ssh/ssh_host_rsa_key'), 'c', '0', '0']);
    expect(await makeReproducible(upper, tree, EPOCH, { volatile: ['etc/ssh/ssh_host_*'], scope: ['etc/ssh/ssh_host_*'] })).toEqual({ heldVolatile: [] });
  });
});

describe('buildEpoch', () => {
  const archive = (...dates: string[]) => ({ from: 'archive' as const, suites: dates.map((date, i) => ({ suite: `s${i}`, url: `http://m/dists/s${i}/InRelease`, sha256: '0'.repeat(64), date })) });

  it('is the one given, whatever the archive says', () => {
    expect(buildEpoch(42, archive('Sat, 10 Jun 2023 08:53:47 UTC'))).toEqual({ seconds: 42, from: 'given' });
  });
  it('else the newest Date of the archive state', () => {
    expect(buildEpoch(null, archive('Sat, 10 Jun 2023 08:53:47 UTC', 'Mon, 30 Nov 2026 20:12:01 UTC'))).toEqual({ seconds: Date.UTC(2026, 10, 30, 20, 12, 1) / 1000, from: 'archive' });
  });
  it('else the fixed default', () => {
    expect(buildEpoch(null, null)).toEqual({ seconds: DEFAULT_EPOCH, from: 'default' });
    expect(buildEpoch(null, archive())).toEqual({ seconds: DEFAULT_EPOCH, from: 'default' });
  });
});
