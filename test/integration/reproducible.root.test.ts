// Bit-for-bit reproducible builds (issue 16): a build from an empty cache,
// rebuilt on its warm cache after one changed finalise.d hook (issue 17: the
// disk images are assembled again, the qcow2 by imgfactory's own writer), and
// `build --check` of that (a build from nothing, in other build and cache
// directories) against the run's one archive state (archive-pin.ts) give the
// same layers and the same raw, qcow2 and tar (the check's comparison is
// unit-tested in test/unit/engine/rebuild-check.test.ts); when a hook writes
// the clock into the tree, --check names the step and the file.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, cp, readdir, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory, type Run } from '../support/imgfactory.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const LONG = scaled(1_200_000);
const ELEMENTS = path.join(FIXTURES, 'elements', 'reproducible');

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * `--check` builds from nothing, so its network steps fetch the archive as it
 * is then; should Debian publish between a build and its check, the check's
 * base tree is refused as installed from another state (engine/archive-check.ts)
 * and says nothing about reproducibility. Then `body` runs once more, in new
 * directories, its first build reading the archive live (`archiveState`), so
 * that both builds see the new state.
 */
async function acrossPublication(body: (archiveState: string[]) => Promise<Run>): Promise<Run> {
  const moved = (r: Run): boolean => r.exitCode === 1 && r.stderr.includes('installed from another state of the archive');
  const first = await body([]);
  return moved(first) ? body(['--archive-state', 'live']) : first;
}

const dirsIn = (dir: string): string[] => ['--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out')];

describe('reproducible builds', () => {
  it(
    'a rebuild after one changed finalise.d hook on a warm cache writes the layers, raw, qcow2 and tar that --check (a build from nothing, in other directories) writes',
    async () => {
      let layers = 0;
      // The builds in a start from the run's base tree (base-cache.ts, itself built from an empty cache elsewhere);
      // a second attempt, after Debian published, reads the archive live from nothing.
      const fromNothing = await acrossPublication(async (archiveState) => {
        const [a, c] = [await scratchDir('repro-a'), await scratchDir('repro-c')];
        if (archiveState.length === 0) await cacheWithBase(path.join(a, 'cache'));
        // A copy of the element whose finalise.d hook is edited between the two builds in a.
        const elements = path.join(a, 'elements');
        await cp(path.join(ELEMENTS, 'finalise-edit'), path.join(elements, 'finalise-edit'), { recursive: true });
        const hook = path.join(elements, 'finalise-edit', 'finalise.d', '50-finalise-edit');
        const image = ['build', 'base', 'vm', 'block-device-efi', 'finalise-edit', '--elements-path', elements, '-t', 'raw,qcow2,tar', '--no-sign'];
        const cold = await imgfactory([...image, ...archiveState, ...dirsIn(a), '--json-file', path.join(a, 'cold.json')]);
        expect(cold.exitCode, cold.stderr).toBe(0);

        await appendFile(hook, 'echo "finalise-edit: second version" >> /etc/finalise-edit\n');
        const again = await imgfactory([...image, ...archiveState, ...dirsIn(a), '--json-file', path.join(a, 'again.json')]);
        expect(again.exitCode, again.stderr).toBe(0);
        // Incremental: every step before the changed hook came from the cache; the disk images were assembled again.
        const summary = JSON.parse(await readFile(path.join(a, 'again.json'), 'utf8')) as { built: number; cached: number; steps: Array<{ phase: string; status: string }>; outputs: Array<{ format: string; cached: boolean }> };
        expect(summary.cached).toBeGreaterThan(2);
        expect(summary.built).toBeGreaterThan(0);
        expect(summary.steps.filter((s) => s.status === 'built').map((s) => s.phase)).toEqual(Array(summary.built).fill(expect.stringMatching(/^finalise/)));
        expect(summary.outputs.filter((o) => o.format === 'qcow2').map((o) => o.cached)).toEqual([false]);
        const manifest = JSON.parse(await readFile(path.join(a, 'out', 'base.manifest.json'), 'utf8'));
        // No --source-date-epoch: the archive state's newest Date.
        expect(manifest.sourceDateEpochFrom).toBe('archive');
        expect(manifest.layers).toHaveLength(manifest.layerKeys.length);
        // The qcow2 imgfactory wrote itself is sound and holds the raw disk.
        const qcow2 = path.join(a, 'out', 'base.qcow2');
        const check = await execa('qemu-img', ['check', '-f', 'qcow2', qcow2], { reject: false });
        expect(check.exitCode, check.stdout + check.stderr).toBe(0);
        const compare = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', path.join(a, 'out', 'base.raw'), qcow2], { reject: false });
        expect(compare.stdout).toContain('Images are identical.');

        // From nothing: an empty cache and build directory of its own under c, compared with the incremental build's manifest.
        layers = manifest.layers.length;
        return imgfactory([...image, '--check', '--cache-dir', path.join(a, 'cache'), '--build-dir', path.join(c, 'build'), '-o', path.join(a, 'out')]);
      });
      expect(fromNothing.exitCode, fromNothing.stderr).toBe(0);
      expect(fromNothing.stderr).toMatch(new RegExp(`reproducible: building again from nothing gave the same 3 outputs and ${layers} layers`));
    },
    LONG,
  );

  it(
    '--check of a build whose hook writes the clock fails with exit 3, naming the step and the file, and leaves the earlier build as it was',
    async () => {
      let dir = '';
      let before = Buffer.alloc(0);
      let tarBefore = '';
      // The first build takes the run's base tree (base-cache.ts); a second attempt, after Debian published, reads the archive live.
      const check = await acrossPublication(async (archiveState) => {
        dir = await scratchDir('repro-noise');
        const cache = archiveState.length === 0 ? await cacheWithBase(path.join(dir, 'cache')) : path.join(dir, 'cache');
        const args = ['base', 'clock-noise', '-t', 'tar', '--no-sign', '--elements-path', ELEMENTS, '--cache-dir', cache, '-o', path.join(dir, 'out')];
        const built = await imgfactory(['build', ...args, ...archiveState, '--build-dir', path.join(dir, 'build')]);
        expect(built.exitCode, built.stderr).toBe(0);
        before = await readFile(path.join(dir, 'out', 'base.manifest.json'));
        tarBefore = await sha256(path.join(dir, 'out', 'base.tar'));
        return imgfactory(['build', ...args, '--check', '--build-dir', path.join(dir, 'check-build')]);
      });
      const manifest = path.join(dir, 'out', 'base.manifest.json');
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
