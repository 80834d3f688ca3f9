// The walker on a small tree: order, kinds, hard-link groups, xattrs and the
// exclusion rule. Whiteouts and opaque dirs need root to make: see
// test/integration/layer-walk.root.test.ts.
import { execa } from 'execa';
import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkLayer } from '../../../src/cache/layer-walk.js';
import { scratchDir } from '../../support/run-dir.js';

async function tree(): Promise<string> {
  const root = await scratchDir('walk');
  for (const d of ['proc/1', 'sys/kernel', 'tmp/sub', 'run/lock', 'dev/pts', 'etc', 'a-b', 'a', 'opq']) {
    await mkdir(path.join(root, d), { recursive: true });
  }
  await writeFile(path.join(root, 'proc/1/status'), 'x');
  await writeFile(path.join(root, 'tmp/file'), 'x');
  await writeFile(path.join(root, 'dev/pts/0'), 'x');
  await writeFile(path.join(root, 'etc/hostname'), 'box\n');
  await link(path.join(root, 'etc/hostname'), path.join(root, 'a/hostname-link'));
  await symlink('../etc/hostname', path.join(root, 'a-b/rel'));
  await writeFile(path.join(root, 'a/f'), '');
  await execa('setfattr', ['-n', 'user.color', '-v', 'blue', path.join(root, 'a/f')]);
  await execa('mkfifo', [path.join(root, 'a/pipe')]);
  return root;
}

describe('walkLayer', () => {
  it('lists a plain tree in byte order, without excluded contents and with hard links', async () => {
    const root = await tree();
    const res = await walkLayer(root, { source: 'tree' });
    if (!res.ok) throw new Error(JSON.stringify(res.error));
    const byPath = new Map(res.value.entries.map((e) => [e.path, e]));
    expect(res.value.entries.map((e) => e.path)).toEqual([
      '.', 'a', 'a-b', 'a-b/rel', 'a/f', 'a/hostname-link', 'a/pipe', 'dev', 'dev/pts',
      'etc', 'etc/hostname', 'opq', 'proc', 'run', 'sys', 'tmp', 'tmp/file', 'tmp/sub',
    ]);
    expect(byPath.get('a/hostname-link')?.kind).toBe('file');
    expect(byPath.get('etc/hostname')).toMatchObject({ kind: 'hardlink', linkTarget: 'a/hostname-link' });
    expect(byPath.get('a-b/rel')).toMatchObject({ kind: 'symlink', linkTarget: '../etc/hostname' });
    expect(byPath.get('a/pipe')?.kind).toBe('fifo');
    expect(byPath.get('a/f')?.xattrs).toEqual([['user.color', Buffer.from('blue')]]);
  });

  it('refuses names an OCI layer cannot hold', async () => {
    const root = await scratchDir('walk-bad');
    await writeFile(path.join(root, '.wh.sneaky'), '');
    const res = await walkLayer(root, { source: 'tree' });
    expect(res.ok ? 'ok' : res.error.reason).toBe('layer-unpackable');

  });
});

describe('walkLayer failures', () => {
  it('returns an io failure for a missing source instead of throwing', async () => {
    const res = await walkLayer(path.join(await scratchDir('walk-missing'), 'nope'), { source: 'upper' });
    expect(res.ok ? 'ok' : res.error.reason).toBe('io');
  });
});
