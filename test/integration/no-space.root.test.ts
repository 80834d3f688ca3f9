// A full disk is an expected failure: each place a build writes to (the build
// directory, the cache, the output directory) is put on a small tmpfs in
// turn, and the build must end with one line naming that filesystem's mount
// point, what the build keeps there and what it was doing (with how much it
// needed, where that can be told), leave nothing half-written, and keep the
// cache verifiable. Needs root (it mounts tmpfs).
import { execa } from 'execa';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory, type Run } from '../support/imgfactory.js';
import { mountsUnderAnywhere } from '../support/leftovers.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const ELEMENTS = path.join(FIXTURES, 'elements', 'faults');
const LONG = scaled(600_000);
const MIB = 1024 * 1024;

const mounted: string[] = [];

/** A fresh tmpfs of `mib` MiB mounted on a new directory below `dir`. */
async function smallDisk(dir: string, name: string, mib: number): Promise<string> {
  const point = path.join(dir, name);
  await mkdir(point, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', point]);
  mounted.push(point);
  return point;
}

afterAll(async () => {
  for (const point of mounted.reverse()) await execa('umount', ['--lazy', point], { reject: false });
});

interface Places {
  dir: string;
  cache: string;
  build: string;
  out: string;
}

async function places(name: string, put: (dir: string) => Promise<Partial<Places>>): Promise<Places> {
  const dir = await scratchDir(name);
  const chosen = await put(dir);
  const cache = chosen.cache ?? path.join(dir, 'cache');
  await cacheWithBase(cache);
  return { dir, cache, build: chosen.build ?? path.join(dir, 'build'), out: chosen.out ?? path.join(dir, 'out') };
}

function build(p: Places, element: string, env: Record<string, string> = {}): Promise<Run> {
  return imgfactory(['build', element, '--elements-path', ELEMENTS, '--cache-dir', p.cache, '--build-dir', p.build, '-o', p.out, '--scratch', 'disk', '-t', 'tar'], env);
}

/** Every name below `dir` that a half-written file would have: temp names (src/util/atomic-write.ts). */
async function tempNames(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true }).catch(() => [])) as string[]).filter((e) => path.basename(e).includes('.tmp-'));
}

/** The one failure line, and that nothing half-written or unverifiable was left. */
async function expectCleanFailure(r: Run, p: Places, line: RegExp): Promise<void> {
  expect(r.exitCode, r.stderr).toBe(1);
  expect(r.stderr.match(/^error: .*$/gm), r.stderr).toEqual([expect.stringMatching(line)]);
  expect(r.stderr).not.toMatch(/^error: unexpected|^\s+at /m); // no stack trace of imgfactory's
  expect(await tempNames(p.out)).toEqual([]);
  expect(await readdir(path.join(p.cache, 'tmp'))).toEqual([]);
  expect((await readdir(p.build)).filter((n) => n !== 'logs' && n !== '.sandbox')).toEqual([]);
  expect((await mountsUnderAnywhere(p.dir)).filter((m) => !mounted.includes(m))).toEqual([]);
  const verify = await imgfactory(['cache', 'verify', '--cache-dir', p.cache]);
  expect(verify.exitCode, verify.stderr).toBe(0);
  expect(verify.stderr).not.toMatch(/damaged/);
}

const mibOf = (text: string): number => {
  const m = /needed about ([\d.]+) (KiB|MiB|GiB)/.exec(text);
  if (!m) return 0;
  return (Number(m[1]) * { KiB: 1024, MiB: MIB, GiB: 1024 * MIB }[m[2] as 'KiB' | 'MiB' | 'GiB']) / MIB;
};

describe('a full disk', () => {
  it(
    'build directory too small for the tree: says so, with what the base layer needs, and keeps nothing',
    async () => {
      const p = await places('nospace-tree', async (dir) => ({ build: path.join(await smallDisk(dir, 'small', 64), 'build') }));
      const r = await build(p, 'fault');
      const disk = path.dirname(p.build);
      await expectCleanFailure(r, p, new RegExp(`^error: no space left on ${disk} \\(the build directory, .* free\\) while applying the cached layer of distro/debian-bookworm; needed about `));
      expect(mibOf(r.stderr)).toBeGreaterThan(64); // the base tree's tar: more than the disk holds
      expect(r.stderr).toMatch(/hint: .*--build-dir/);
    },
    LONG,
  );

  it(
    'build directory filled by a hook: blamed on the disk, not on the hook',
    async () => {
      const p = await places('nospace-hook', async (dir) => ({ build: path.join(await smallDisk(dir, 'small', 280), 'build') }));
      const r = await build(p, 'big-layer', { DIB_BIG_MB: '200' });
      const disk = path.dirname(p.build);
      await expectCleanFailure(r, p, new RegExp(`^error: no space left on ${disk} \\(the build directory, .* free\\) while running big-layer/install\\.d/50-big-layer`));
    },
    LONG,
  );

  it(
    'output directory too small for the tar: says so, with about how big it is, and leaves no temp file',
    async () => {
      const p = await places('nospace-out', async (dir) => ({ out: await smallDisk(dir, 'out', 32) }));
      const r = await build(p, 'fault');
      await expectCleanFailure(r, p, new RegExp(`^error: no space left on ${p.out} \\(the output directory, .* free\\) while writing ${p.out}/fault\\.tar; needed about `));
      expect(mibOf(r.stderr)).toBeGreaterThan(32);
      expect(await readdir(p.out)).toEqual([]);
    },
    LONG,
  );

  it(
    'cache too small for a new layer: says so, and the cache stays as it was and verifies',
    async () => {
      const p = await places('nospace-cache', async (dir) => ({ cache: path.join(await smallDisk(dir, 'cache', 600), 'cache') }));
      // Fill the cache's disk to about 60 MiB short, so the base fits but a 100 MiB layer does not.
      const free = Number((await execa('df', ['--output=avail', '-B1', p.cache])).stdout.split('\n')[1]);
      await execa('fallocate', ['-l', String(free - 60 * MIB), path.join(path.dirname(p.cache), 'filler')]);
      const before = (await imgfactory(['cache', 'ls', '--json', '--cache-dir', p.cache])).stdout;
      const r = await build(p, 'big-layer', { DIB_BIG_MB: '100' });
      await expectCleanFailure(r, p, new RegExp(`^error: no space left on ${path.dirname(p.cache)} \\(the cache, .* free\\) while storing the layer of big-layer/install\\.d/50-big-layer; needed about `));
      const after = (await imgfactory(['cache', 'ls', '--json', '--cache-dir', p.cache])).stdout;
      const keys = (text: string): string[] => (JSON.parse(text) as { key: string }[]).map((e) => e.key).sort();
      expect(keys(after)).toEqual(keys(before));
      expect(r.stderr).toMatch(/hint: .*--cache-dir/);
    },
    LONG,
  );
});
