// The walker on what only root can make: overlayfs whiteouts (0/0 char
// devices), opaque dirs (trusted.overlay.opaque=y) and redirects, told apart
// from a plain tree's devices.
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkLayer } from '../../src/cache/layer-walk.js';
import { scratchDir } from '../support/run-dir.js';

async function upperLike(): Promise<string> {
  const root = await scratchDir('walk-upper');
  await mkdir(path.join(root, 'a'));
  await mkdir(path.join(root, 'opq'));
  await writeFile(path.join(root, 'opq/new'), 'n');
  await execa('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(root, 'opq')]);
  await execa('setfattr', ['-n', 'trusted.overlay.impure', '-v', 'y', path.join(root, 'a')]);
  await execa('setfattr', ['-n', 'user.kept', '-v', '1', path.join(root, 'a')]);
  await execa('mknod', [path.join(root, 'a/gone'), 'c', '0', '0']);
  return root;
}

describe('walkLayer on overlay upper dirs', () => {
  it('turns 0/0 char devices into whiteouts and opaque dirs into markers', async () => {
    const res = await walkLayer(await upperLike(), { source: 'upper' });
    if (!res.ok) throw new Error(JSON.stringify(res.error));
    expect(res.value.entries.map((e) => [e.path, e.kind])).toEqual([
      ['.', 'dir'],
      ['a', 'dir'],
      ['a/.wh.gone', 'whiteout'],
      ['opq', 'dir'],
      ['opq/.wh..wh..opq', 'opaque'],
      ['opq/new', 'file'],
    ]);
    const a = res.value.entries.find((e) => e.path === 'a');
    expect(a?.xattrs).toEqual([['user.kept', Buffer.from('1')]]); // overlay's own xattrs are never content
  });

  it("keeps a plain tree's 0/0 device a device", async () => {
    const res = await walkLayer(await upperLike(), { source: 'tree' });
    if (!res.ok) throw new Error(JSON.stringify(res.error));
    expect(res.value.entries.find((e) => e.path === 'a/gone')).toMatchObject({ kind: 'char', devMajor: 0, devMinor: 0 });
    expect(res.value.entries.some((e) => e.kind === 'opaque')).toBe(false);
  });

  it('refuses redirect and metacopy entries, which would lose content', async () => {
    const upper = await scratchDir('walk-redirect');
    await mkdir(path.join(upper, 'moved'));
    await execa('setfattr', ['-n', 'trusted.overlay.redirect', '-v', '/orig', path.join(upper, 'moved')]);
    const res = await walkLayer(upper, { source: 'upper' });
    expect(res.ok ? 'ok' : res.error.reason).toBe('layer-unpackable');
  });
});
