// applyLayer on hand-made layers: whiteouts and opaque markers apply before
// any member lands (whatever their place in the archive), files and dirs
// replace each other, and no member or link can write outside the root.
import { mkdir, readdir, readFile, readlink, realpath, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import type { LayerEntry } from '../../../src/cache/layer-entry.js';
import { applyLayer } from '../../../src/cache/layer-apply.js';
import { tarChunks } from '../../../src/cache/tar-writer.js';
import { scratchDir } from '../../support/run-dir.js';

const uid = process.getuid!();
const gid = process.getgid!();
const T = 1_700_000_000_123_456_789n;

function e(p: string, kind: LayerEntry['kind'], extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path: p, kind, mode: kind === 'dir' ? 0o755 : 0o644, uid, gid, size: 0, mtimeNs: T, xattrs: [], ...extra };
}

async function blob(dir: string, entries: LayerEntry[]): Promise<string> {
  const file = path.join(dir, `layer-${Math.random().toString(36).slice(2)}.tar.zst`);
  await writeFile(file, compress(Buffer.concat([...tarChunks(entries)])));
  return file;
}

async function lower(): Promise<string> {
  const root = await scratchDir('apply-root');
  await mkdir(path.join(root, 'keep/sub'), { recursive: true });
  await writeFile(path.join(root, 'keep/sub/old'), 'old');
  await mkdir(path.join(root, 'opaque'));
  await writeFile(path.join(root, 'opaque/old'), 'old');
  await writeFile(path.join(root, 'gone'), 'bye');
  await mkdir(path.join(root, 'gonedir/deep'), { recursive: true });
  await writeFile(path.join(root, 'file2dir'), 'f');
  await mkdir(path.join(root, 'dir2file/x'), { recursive: true });
  return root;
}

describe('applyLayer', () => {
  it('applies markers first, replaces files by dirs and back, and restores metadata', async () => {
    const root = await lower();
    const src = path.join(await scratchDir('apply-src'), 'content');
    await writeFile(src, 'new content');
    const layer = await blob(path.dirname(src), [
      e('.', 'dir'),
      e('.wh.gone', 'whiteout'),
      e('.wh.gonedir', 'whiteout'),
      e('dir2file', 'file', { size: 11, source: src, mode: 0o4750 }),
      e('file2dir', 'dir', { mode: 0o1777 }),
      e('file2dir/inner', 'symlink', { linkTarget: '/nowhere' }),
      e('opaque', 'dir'),
      e('opaque/+early', 'file', { size: 11, source: src }), // sorts before the marker
      e('opaque/.wh..wh..opq', 'opaque'),
      e('opaque/twin', 'hardlink', { linkTarget: 'opaque/+early' }),
    ]);
    const res = await applyLayer(layer, root);
    if (!res.ok) throw new Error(JSON.stringify(res.error));
    expect(res.value.markers).toBe(3);
    expect((await readdir(root)).sort()).toEqual(['dir2file', 'file2dir', 'keep', 'opaque']);
    expect((await readdir(path.join(root, 'opaque'))).sort()).toEqual(['+early', 'twin']);
    expect(await readFile(path.join(root, 'keep/sub/old'), 'utf8')).toBe('old');
    const f = await stat(path.join(root, 'dir2file'), { bigint: true });
    expect([f.mode & 0o7777n, f.mtimeNs]).toEqual([0o4750n, (T / 1000n) * 1000n]);
    expect((await stat(path.join(root, 'file2dir'))).mode & 0o7777).toBe(0o1777);
    expect(await readlink(path.join(root, 'file2dir/inner'))).toBe('/nowhere');
    expect((await stat(path.join(root, 'opaque/twin'))).ino).toBe((await stat(path.join(root, 'opaque/+early'))).ino);
  });

  it('rejects absolute and dot-dot names before touching the tree', async () => {
    const outside = await scratchDir('apply-outside');
    for (const bad of ['/abs', '../escape', 'a/../../escape']) {
      const root = await lower();
      const layer = await blob(outside, [e('.wh.gone', 'whiteout'), e(bad, 'dir')]);
      const res = await applyLayer(layer, root);
      expect(res.ok ? 'ok' : res.error.reason, bad).toBe('layer-invalid');
      expect(await readFile(path.join(root, 'gone'), 'utf8')).toBe('bye'); // nothing applied
    }
    expect((await readdir(outside)).filter((n) => !n.endsWith('.zst'))).toEqual([]);
  });

  it('rejects hard links that point outside the root', async () => {
    const root = await lower();
    const layer = await blob(root, [e('evil', 'hardlink', { linkTarget: '../../../../etc/passwd' })]);
    const res = await applyLayer(layer, root);
    expect(res.ok ? 'ok' : res.error.reason).toBe('layer-invalid');
  });

  it('resolves symlinks in the tree inside the root, so they cannot carry writes out', async () => {
    const root = await realpath(await lower());
    const outside = await realpath(await scratchDir('apply-host'));
    await mkdir(path.join(root, outside), { recursive: true }); // the same path, inside the root
    await symlink(outside, path.join(root, 'escape')); // absolute: means root/<outside> in a chroot
    await symlink('../../../../../../../..' + outside, path.join(root, 'escape2'));
    const src = path.join(outside, 'payload-src');
    await writeFile(src, 'payload-src');
    const layer = await blob(path.join(root, 'keep'), [
      e('escape/pwned', 'file', { size: 11, source: src }),
      e('escape2/pwned2', 'file', { size: 11, source: src }),
      e('escape2/hl', 'hardlink', { linkTarget: 'escape/pwned' }),
    ]);
    const res = await applyLayer(layer, root);
    if (!res.ok) throw new Error(JSON.stringify(res.error));
    expect((await readdir(outside)).sort()).toEqual(['payload-src']);
    expect((await readdir(path.join(root, outside))).sort()).toEqual(['hl', 'pwned', 'pwned2']);
  });

  it('refuses a file on the way and a truncated blob', async () => {
    const root = await lower();
    const bad = await blob(root, [e('gone/child', 'dir')]);
    const res = await applyLayer(bad, root);
    expect(res.ok ? 'ok' : res.error.reason).toBe('layer-invalid');

    const whole = compress(Buffer.concat([...tarChunks([e('x', 'dir'), e('y', 'dir')])]).subarray(0, 600));
    const cut = path.join(root, 'cut.tar.zst');
    await writeFile(cut, whole);
    const res2 = await applyLayer(cut, root);
    expect(res2.ok ? 'ok' : res2.error.reason).toBe('io');
  });
});
