// Bit-for-bit reproducible builds (issue 16): a build from an empty cache and
// `build --check` (a second build from nothing, in other build and cache
// directories) against the run's one archive state (archive-pin.ts) give the
// same layers and the same raw, qcow2 and tar (the check's comparison is
// unit-tested in test/unit/engine/rebuild-check.test.ts); when a hook writes
// the clock into the tree, --check names the step and the file.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory } from '../support/imgfactory.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const LONG = scaled(1_200_000);
const ELEMENTS = path.join(FIXTURES, 'elements', 'reproducible');

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const dirsIn = (dir: string): string[] => ['--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out')];

describe('reproducible builds', () => {
  it(
    'a cold build of base vm block-device-efi and --check (a second cold build, in other directories) write the same layers, raw, qcow2 and tar',
    async () => {
      const [a, c] = [await scratchDir('repro-a'), await scratchDir('repro-c')];
      const image = ['build', 'base', 'vm', 'block-device-efi', '-t', 'raw,qcow2,tar', '--no-sign'];
      const first = await imgfactory([...image, ...dirsIn(a)]);
      expect(first.exitCode, first.stderr).toBe(0);
      const manifest = JSON.parse(await readFile(path.join(a, 'out', 'base.manifest.json'), 'utf8'));
      // No --source-date-epoch: the archive state's newest Date.
      expect(manifest.sourceDateEpochFrom).toBe('archive');
      expect(manifest.layers).toHaveLength(manifest.layerKeys.length);

      // From nothing: an empty cache and build directory of its own under c, compared with a's manifest.
      const check = await imgfactory([...image, '--check', '--cache-dir', path.join(a, 'cache'), '--build-dir', path.join(c, 'build'), '-o', path.join(a, 'out')]);
      expect(check.exitCode, check.stderr).toBe(0);
      expect(check.stderr).toMatch(new RegExp(`reproducible: building again from nothing gave the same 3 outputs and ${manifest.layers.length} layers`));
    },
    LONG,
  );

  it(
    '--check of a build whose hook writes the clock fails with exit 3, naming the step and the file, and leaves the earlier build as it was',
    async () => {
      const dir = await scratchDir('repro-noise');
      const cache = await cacheWithBase(path.join(dir, 'cache'));
      const args = ['base', 'clock-noise', '-t', 'tar', '--no-sign', '--elements-path', ELEMENTS, '--cache-dir', cache, '-o', path.join(dir, 'out')];
      const built = await imgfactory(['build', ...args, '--build-dir', path.join(dir, 'build')]);
      expect(built.exitCode, built.stderr).toBe(0);
      const manifest = path.join(dir, 'out', 'base.manifest.json');
      const before = await readFile(manifest);
      const tarBefore = await sha256(path.join(dir, 'out', 'base.tar'));

      const check = await imgfactory(['build', ...args, '--check', '--build-dir', path.join(dir, 'check-build')]);
      expect(check.exitCode, check.stderr).toBe(3);
      expect(check.stderr).toContain('not reproducible');
      expect(check.stderr).toMatch(/step clock-noise\/install\.d\/50-clock-noise wrote other bytes/);
      // Created during the build: its mtime is the epoch in both builds; only the bytes differ.
      expect(check.stderr).toContain('/etc/clock-noise: content differ');
      expect(check.stderr).toMatch(/output base\.tar: sha256/);
      // The earlier build's manifest and output are untouched; the check's own directory is gone.
      expect(await readFile(manifest)).toEqual(before);
      expect(await sha256(path.join(dir, 'out', 'base.tar'))).toBe(tarBefore);
      expect((await readdir(path.join(dir, 'check-build'))).filter((n) => n.startsWith('.check-'))).toEqual([]);
    },
    LONG,
  );
});
