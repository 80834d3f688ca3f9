// The layer cache on real builds: fixture hooks print a COUNT-RUN line each
// time they really run (a cached step prints nothing), so these tests see
// exactly what a rebuild re-executed.
import { execa } from 'execa';
import { appendFile, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCheckpoints } from '../../src/cache/checkpoints.js';
import { blobPath } from '../../src/cache/content-path.js';
import type { Integrity } from '../../src/cache/digest.js';
import { TREES_DIR } from '../../src/cache/format.js';
import { bucketPath, formatLine, readBucket } from '../../src/cache/index-bucket.js';
import { LocalLayerStore } from '../../src/cache/store-local.js';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory, startImgfactory, type Run } from '../support/imgfactory.js';
import { COUNT_STEPS as ALL, ran } from '../support/count-runner.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const LONG = scaled(900_000);

interface Workspace {
  dir: string;
  elements: string;
  cache: string;
  args: (build: string) => string[];
}

async function workspace(name: string): Promise<Workspace> {
  const dir = await scratchDir(name);
  const elements = path.join(dir, 'elements');
  await execa('cp', ['-a', path.join(FIXTURES, 'elements', 'cache'), elements]);
  const cache = await cacheWithBase(path.join(dir, 'cache'));
  return {
    dir,
    elements,
    cache,
    args: (build) => ['build', 'count-a', '--json', '-t', 'tar', '--elements-path', elements, '--cache-dir', cache, '--build-dir', path.join(dir, build), '-o', path.join(dir, 'out'), '--scratch', 'disk'],
  };
}

const statuses = (r: Run): Record<string, string> =>
  Object.fromEntries((JSON.parse(r.stdout) as { steps: { id: string; status: string }[] }).steps.map((s) => [s.id, s.status]));

/** One file of the build's output tar, as text. */
async function fromTar(ws: Workspace, member: string): Promise<string> {
  const tree = await scratchDir('from-tar');
  await execa('tar', ['-xf', path.join(ws.dir, 'out', 'count-a.tar'), '-C', tree, `./${member}`]);
  return readFile(path.join(tree, member), 'utf8');
}

async function build(ws: Workspace, buildDir = 'build'): Promise<Run> {
  const r = await imgfactory(ws.args(buildDir));
  if (r.exitCode !== 0) throw new Error(`build failed:\n${r.stderr}`);
  return r;
}

describe('rebuilds redo only what changed', () => {
  it(
    'a second build runs nothing, nor does a README edit; changing a finalise.d hook or a static file re-runs only from there',
    async () => {
      const ws = await workspace('rebuild');
      const cold = await build(ws);
      expect(ran(cold)).toEqual(ALL);
      const tar = path.join(ws.dir, 'out', 'count-a.tar');
      const coldSum = (await execa('sha256sum', [tar])).stdout.split(' ')[0];

      const noop = await build(ws);
      expect(ran(noop)).toEqual([]);
      expect(new Set(Object.values(statuses(noop)))).toEqual(new Set(['cached']));
      expect((await execa('sha256sum', [tar])).stdout.split(' ')[0]).toBe(coldSum);

      // An output edited in place (same size) is not taken for the cached one: the next build puts the cached bytes back.
      const edited = await open(tar, 'r+');
      await edited.write(Buffer.from('X'), 0, 1, 1000);
      await edited.close();
      expect((await execa('sha256sum', [tar])).stdout.split(' ')[0]).not.toBe(coldSum);
      expect(ran(await build(ws))).toEqual([]);
      expect((await execa('sha256sum', [tar])).stdout.split(' ')[0]).toBe(coldSum);

      await appendFile(path.join(ws.elements, 'count-a', 'README.md'), '\nMore words about count-a.\n');
      expect(ran(await build(ws))).toEqual([]);

      await appendFile(path.join(ws.elements, 'count-a', 'finalise.d', '30-count-a'), '# edited\n');
      const hookChanged = await build(ws);
      expect(ran(hookChanged)).toEqual(['count-a/finalise.d/30-count-a', 'count-b/finalise.d/50-count-b', 'count-a/cleanup.d/40-count-a']);
      expect(statuses(hookChanged)).toMatchObject({
        'distro/debian-bookworm': 'cached',
        'count-b/finalise.d/20-count-b': 'cached',
        'count-a/finalise.d/30-count-a': 'built',
        'builtin/finalise-tree': 'built',
      });

      await writeFile(path.join(ws.elements, 'count-a', 'static', 'data.txt'), 'version 2\n');
      const staticChanged = await build(ws);
      expect(ran(staticChanged)).toEqual(ALL.slice(2));
      expect(await fromTar(ws, 'var/lib/count/data.txt')).toBe('version 2\n');
    },
    LONG,
  );

  it(
    'a build resumed from a tree checkpoint writes the same bytes as one that applies every cached layer',
    async () => {
      const ws = await workspace('checkpoint');
      await build(ws);
      // The last step's checkpoint is the build's tree, moved into the cache after the tar was written: it is there when the build returns, and holds what it recorded.
      expect((await listCheckpoints(ws.cache)).map((c) => c.step)).toContain('builtin/finalise-tree');
      expect((await imgfactory(['cache', 'verify', '--cache-dir', ws.cache])).exitCode).toBe(0);
      await appendFile(path.join(ws.elements, 'count-a', 'finalise.d', '30-count-a'), '# edited\n');
      const resumed = await build(ws);
      expect(resumed.stderr).toMatch(/started from the tree checkpoint after distro\/debian-bookworm/);
      expect((await imgfactory(['cache', 'ls', '--cache-dir', ws.cache])).stderr).toMatch(/\d+ tree checkpoints \((base, )?count-a\), \d/);
      const tar = path.join(ws.dir, 'out', 'count-a.tar');
      const fromCheckpoint = await readFile(tar);

      // The same build again with no checkpoints and no cached output: every layer is applied.
      await execa('rm', ['-rf', path.join(ws.cache, TREES_DIR)]);
      const ls = JSON.parse((await imgfactory(['cache', 'ls', '--json', '--cache-dir', ws.cache])).stdout) as { key: string; step: string }[];
      for (const e of ls.filter((e) => e.step === 'output/tar')) expect((await imgfactory(['cache', 'rm', e.key, '--cache-dir', ws.cache])).exitCode).toBe(0);
      const applied = await build(ws);
      expect(applied.stderr).not.toMatch(/tree checkpoint/);
      expect(ran(applied)).toEqual([]);
      expect((await readFile(tar)).equals(fromCheckpoint)).toBe(true);
    },
    LONG,
  );

  it(
    'a step built again after an earlier change links the files a tree checkpoint holds, and the output is the bytes applying its layers makes',
    async () => {
      const ws = await workspace('shared-files');
      // 24 MiB the step writes the same every time (its mtime clamped to the build's epoch): enough for the layer to share.
      await appendFile(path.join(ws.elements, 'count-a', 'install.d', '20-count-a'), 'head -c 24M /dev/zero | tr "\\0" x > /var/lib/count/big\n');
      await build(ws);
      const ino = (c: { dir: string }, rel: string) => stat(path.join(c.dir, 'tree', rel)).then((st) => st.ino, () => null);
      // The checkpoints that hold the file (those after count-a's install.d), all one inode (hard-link copies of one tree).
      const before = await listCheckpoints(ws.cache);
      const held = new Set((await Promise.all(before.map((c) => ino(c, 'var/lib/count/big')))).filter((i) => i !== null));
      expect(held.size).toBe(1);
      const installB = (await Promise.all(before.map((c) => ino(c, 'var/lib/count/install-b')))).find((i) => i !== null);
      expect(installB).toBeDefined();

      await appendFile(path.join(ws.elements, 'count-b', 'install.d', '10-count-b'), '# edited\n');
      const rebuilt = await build(ws);
      expect(ran(rebuilt)).toEqual(ALL.slice(1));
      const made = (await listCheckpoints(ws.cache)).filter((c) => !before.some((b) => b.key === c.key));
      expect(made.length).toBeGreaterThan(0);
      for (const c of made) {
        expect(await ino(c, 'var/lib/count/big'), c.step).toBe([...held][0]);
        // count-b's install.d wrote another time into install-b: that file is not the old one.
        expect(await ino(c, 'var/lib/count/install-b'), c.step).not.toBe(installB);
      }
      const tar = path.join(ws.dir, 'out', 'count-a.tar');
      const linked = await readFile(tar);
      expect((await imgfactory(['cache', 'verify', '--cache-dir', ws.cache])).exitCode).toBe(0); // both checkpoints hold what they recorded

      // The same build with no checkpoints and no cached output: every layer is applied, none merged, nothing linked.
      await execa('rm', ['-rf', path.join(ws.cache, TREES_DIR)]);
      const ls = JSON.parse((await imgfactory(['cache', 'ls', '--json', '--cache-dir', ws.cache])).stdout) as { key: string; step: string }[];
      for (const e of ls.filter((e) => e.step === 'output/tar')) expect((await imgfactory(['cache', 'rm', e.key, '--cache-dir', ws.cache])).exitCode).toBe(0);
      expect(ran(await build(ws))).toEqual([]);
      expect((await readFile(tar)).equals(linked)).toBe(true);
    },
    LONG,
  );

  it(
    'a tree built in memory (--scratch tmpfs) gives the same bytes as one built on disk, runs steps there, and keeps no checkpoint',
    async () => {
      const ws = await workspace('scratch');
      await build(ws);
      const tar = path.join(ws.dir, 'out', 'count-a.tar');
      const onDisk = await readFile(tar);
      // No checkpoints and no cached output: the memory build applies every layer.
      await execa('rm', ['-rf', path.join(ws.cache, TREES_DIR)]);
      const ls = JSON.parse((await imgfactory(['cache', 'ls', '--json', '--cache-dir', ws.cache])).stdout) as { key: string; step: string }[];
      for (const e of ls.filter((e) => e.step === 'output/tar')) expect((await imgfactory(['cache', 'rm', e.key, '--cache-dir', ws.cache])).exitCode).toBe(0);
      const inMemory = (): Promise<Run> => imgfactory(ws.args('build-mem').map((a) => (a === 'disk' ? 'tmpfs' : a)));
      const applied = await inMemory();
      expect(applied.exitCode, applied.stderr).toBe(0);
      expect((JSON.parse(applied.stdout) as { scratch: string }).scratch).toBe('tmpfs');
      expect(ran(applied)).toEqual([]);
      expect((await readFile(tar)).equals(onDisk)).toBe(true);

      await appendFile(path.join(ws.elements, 'count-a', 'finalise.d', '30-count-a'), '# edited\n');
      const rebuilt = await inMemory();
      expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
      expect(ran(rebuilt)).toContain('count-a/finalise.d/30-count-a');
      expect((JSON.parse(rebuilt.stdout) as { scratch: string }).scratch).toBe('tmpfs');
      expect(rebuilt.stderr).not.toMatch(/tree checkpoint/);
      expect(await readdir(path.join(ws.cache, TREES_DIR)).catch(() => [])).toEqual([]);
      expect((await readdir('/dev/shm')).filter((n) => n.startsWith('imgfactory-count-a-'))).toEqual([]);
    },
    LONG,
  );

  it(
    'two concurrent builds on one cache both succeed, build each step once, and leave the cache clean',
    async () => {
      const ws = await workspace('concurrent');
      const [one, two] = await Promise.all([startImgfactory(ws.args('build-1')), startImgfactory(ws.args('build-2'))]);
      expect(one.exitCode, String(one.stderr)).toBe(0);
      expect(two.exitCode, String(two.stderr)).toBe(0);
      const runs = [...ran({ exitCode: 0, stdout: '', stderr: String(one.stderr) }), ...ran({ exitCode: 0, stdout: '', stderr: String(two.stderr) })];
      expect(runs.sort()).toEqual([...ALL].sort());
      const verify = await imgfactory(['cache', 'verify', '--cache-dir', ws.cache]);
      expect(verify.exitCode).toBe(0);
    },
    LONG,
  );

  it(
    'a flipped byte in a cached layer is detected, never applied, and the step is rebuilt',
    async () => {
      const ws = await workspace('flip');
      await build(ws);
      const ls = JSON.parse((await imgfactory(['cache', 'ls', '--json', '--cache-dir', ws.cache])).stdout) as { step: string; integrity: string }[];
      const victim = ls.find((e) => e.step === 'count-b/install.d/10-count-b')!;
      const file = blobPath(ws.cache, victim.integrity as Integrity);
      const bytes = await readFile(file);
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = bytes[middle]! ^ 0xff;
      await writeFile(file, bytes);

      await appendFile(path.join(ws.elements, 'count-b', 'finalise.d', '50-count-b'), '# edited\n');
      const r = await build(ws);
      expect(r.stderr).toMatch(/cached layer of count-b\/install\.d\/10-count-b is damaged .*building the step again/);
      expect(ran(r)).toContain('count-b/install.d/10-count-b');
      expect(ran(r)).not.toContain('count-b/root.d/05-count-b');
      expect((await imgfactory(['cache', 'verify', '--cache-dir', ws.cache])).exitCode).toBe(0);
    },
    LONG,
  );

  it(
    'an index line re-pointed at another entry is reported and never used: the package list is not copied out as the tar; cache verify finds it',
    async () => {
      const ws = await workspace('repoint');
      await build(ws);
      const tar = path.join(ws.dir, 'out', 'count-a.tar');
      const coldSum = (await execa('sha256sum', [tar])).stdout.split(' ')[0];
      // This build's entries: the shared base cache holds the base image's outputs too.
      const entries = (await new LocalLayerStore(ws.cache).list()).filter((e) => e.metadata.image === 'count-a');
      const tarKey = entries.find((e) => e.kind === 'output/tar')!.key;
      const pkgsKey = entries.find((e) => e.kind === 'output/installed-packages')!.key;
      const repoint = async (): Promise<void> => {
        const pkgs = (await readBucket(bucketPath(ws.cache, pkgsKey))).records.at(-1)!;
        await appendFile(bucketPath(ws.cache, tarKey), formatLine({ ...pkgs, key: tarKey }));
      };

      await repoint();
      const r = await build(ws);
      expect(r.stderr).toContain(`the cache entry of ${tarKey} (output/tar) is bound to another key, ${pkgsKey} (output/installed-packages); not used, building it again`);
      expect(ran(r)).toEqual([]);
      expect((await execa('sha256sum', [tar])).stdout.split(' ')[0]).toBe(coldSum);

      await repoint();
      const verify = await imgfactory(['cache', 'verify', '--cache-dir', ws.cache]);
      expect(verify.exitCode).toBe(3);
      expect(verify.stderr).toContain(`removed entry ${tarKey}: it is bound to another key, ${pkgsKey}`);
    },
    LONG,
  );

  it(
    'a checkpoint file overwritten in place does not reach the next output: the build warns and applies the layers; cache verify finds it',
    async () => {
      const ws = await workspace('tamper');
      await build(ws);
      const afterBase = (await listCheckpoints(ws.cache)).find((c) => c.step === 'distro/debian-bookworm')!;
      const version = path.join(afterBase.dir, 'tree', 'etc', 'debian_version');
      const original = await readFile(version, 'utf8');
      // In place: every tree and checkpoint sharing the inode sees it.
      await writeFile(version, 'TAMPERED\n');

      await appendFile(path.join(ws.elements, 'count-a', 'finalise.d', '30-count-a'), '# edited\n');
      const r = await build(ws);
      expect(r.stderr).toMatch(
        new RegExp(`the tree checkpoint after distro/debian-bookworm changed since it was made: etc/debian_version was changed \\(size ${original.length} -> 9\\); removed it, applying the cached layers instead`),
      );
      expect(await fromTar(ws, 'etc/debian_version')).toBe(original);

      // The checkpoint after the last step of the first build shares the inode too.
      const verify = await imgfactory(['cache', 'verify', '--cache-dir', ws.cache]);
      expect(verify.exitCode).toBe(3);
      expect(verify.stderr).toMatch(/removed the tree checkpoint after .*: it changed since it was made: etc\/debian_version was changed \(size \d+ -> 9\)/);
      expect((await imgfactory(['cache', 'verify', '--cache-dir', ws.cache])).exitCode).toBe(0);
    },
    LONG,
  );
});
