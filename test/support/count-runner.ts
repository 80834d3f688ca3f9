// A "runner" for cache tests: its own scratch dir with a private copy of the
// counting fixture elements (test/fixtures/elements/cache, whose hooks print
// `COUNT-RUN <step>` each time they really run), a cache (optionally already
// holding the Debian base layer), and an output dir.
import { execa } from 'execa';
import path from 'node:path';
import { cacheWithBase } from './base-cache.js';
import { FIXTURES } from './fixtures.js';
import type { Run } from './imgfactory.js';
import { scratchDir } from './run-dir.js';

/** The steps of `count-a` that run hooks (and print COUNT-RUN), in build order. */
export const COUNT_STEPS = [
  'count-b/root.d/05-count-b',
  'count-b/install.d/10-count-b',
  'count-a/install.d/20-count-a',
  'count-b/finalise.d/20-count-b',
  'count-a/finalise.d/30-count-a',
  'count-b/finalise.d/50-count-b',
  'count-a/cleanup.d/40-count-a',
];

export interface Runner {
  dir: string;
  elements: string;
  cache: string;
  out: string;
}

export async function runner(name: string, withBase: boolean): Promise<Runner> {
  const dir = await scratchDir(name);
  const elements = path.join(dir, 'elements');
  await execa('cp', ['-a', path.join(FIXTURES, 'elements', 'cache'), elements]);
  const cache = withBase ? await cacheWithBase(path.join(dir, 'cache')) : path.join(dir, 'cache');
  return { dir, elements, cache, out: path.join(dir, 'out') };
}

/** `build count-a -t tar --json` on this runner's elements, cache and dirs. */
export function buildArgs(r: Runner, buildDir = 'build'): string[] {
  return ['build', 'count-a', '--json', '-t', 'tar', '--elements-path', r.elements, '--cache-dir', r.cache, '--build-dir', path.join(r.dir, buildDir), '-o', r.out];
}

/** The steps whose hooks really ran in a build, in order. */
export const ran = (r: Run): string[] => [...r.stderr.matchAll(/\| COUNT-RUN (\S+)/g)].map((m) => m[1]!);
