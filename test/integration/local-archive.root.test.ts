// A package step keyed with the state of an archive the test owns
// (support/local-archive.ts: a real apt repository on loopback, made from
// .deb files): publish nothing and the build is a no-op; publish a newer
// version and the package step's key changes and the build installs it.
// Pinned to a state the archive has moved on from, a step that must fetch is
// refused before its layer is stored, and the cache keeps what it held; so
// is a hook that runs `apt-get update` itself.
// The archive state is read live here (not the run's pinned one), Debian's
// suites included: should Debian publish between two builds, the no-op is
// asserted on the next pair of builds that saw the same Debian state.
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/manifest/manifest.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory, type Run } from '../support/imgfactory.js';
import { startLocalArchive } from '../support/local-archive.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const LONG = scaled(1_200_000);
const ELEMENTS = path.join(FIXTURES, 'elements', 'local-archive');

type Summary = { steps: { id: string; status: string; key: string }[]; built: number };

describe('a build installing from a local archive', () => {
  it(
    'installs what is published; publish nothing: a no-op; publish a newer version: the package step is keyed anew and installs it',
    async () => {
      const archive = await startLocalArchive();
      try {
        await archive.publish('imgf-probe', '1', { 'usr/share/imgf-probe/version': '1\n' });
        const dir = await scratchDir('local-archive-build');
        const out = path.join(dir, 'out');
        const args = ['build', 'base', 'probe', '-t', 'tar', '--json', '--no-sign', '--apt-source', archive.sourceLine, '--elements-path', ELEMENTS, '--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', out];
        const build = async (): Promise<{ run: Run; summary: Summary; manifest: Manifest }> => {
          const run = await imgfactory([...args, '--archive-state', 'live']);
          expect(run.exitCode, run.stderr).toBe(0);
          return { run, summary: JSON.parse(run.stdout) as Summary, manifest: JSON.parse(await readFile(path.join(out, 'base.manifest.json'), 'utf8')) as Manifest };
        };
        const probeVersion = async (): Promise<string> => (await execa('tar', ['-xOf', path.join(out, 'base.tar'), './usr/share/imgf-probe/version'])).stdout;
        const packageStep = (s: Summary) => s.steps.find((st) => st.id.startsWith('package-installs/'))!;
        const debian = (m: Manifest): string => JSON.stringify(m.archive?.suites.filter((s) => s.suite !== 'local'));

        const first = await build();
        expect(await probeVersion()).toBe('1');
        expect(first.manifest.packages).toContainEqual({ name: 'imgf-probe', version: '1', arch: 'all' });
        expect(first.manifest.archive?.suites.map((s) => s.suite)).toContain('local');

        // Nothing published: every step and the output from the cache.
        let before = first;
        let again = await build();
        if (debian(again.manifest) !== debian(before.manifest)) [before, again] = [again, await build()];
        expect(debian(again.manifest)).toBe(debian(before.manifest));
        expect(again.summary.built).toBe(0);

        await archive.publish('imgf-probe', '2', { 'usr/share/imgf-probe/version': '2\n' });
        const third = await build();
        expect(packageStep(third.summary).key).not.toBe(packageStep(again.summary).key);
        expect(packageStep(third.summary).status).toBe('built');
        expect(await probeVersion()).toBe('2');
        expect(third.manifest.packages).toContainEqual({ name: 'imgf-probe', version: '2', arch: 'all' });

        // Pinned to the first build's state, which the archive no longer serves: the network steps that must run
        // (--refresh) fetch the new state, and are refused before their layers are stored under the old state's keys.
        const pinned = path.join(dir, 'first.manifest.json');
        await writeFile(pinned, JSON.stringify(first.manifest));
        const localDate = (m: Manifest): string => m.archive!.suites.find((s) => s.suite === 'local')!.date;
        const refused = await imgfactory([...args, '--archive-state', pinned, '--refresh']);
        expect(refused.exitCode, refused.stderr).toBe(1);
        expect(refused.stderr).toContain('installed from another state of the archive than its key holds; its layer was not stored');
        expect(refused.stderr).toContain(`local: keyed with the state of ${localDate(first.manifest)}, the mirror served the state of ${localDate(third.manifest)}`);
        expect(refused.stderr).toContain('--snapshot');
        // What the cache holds under the first state is still what it was: the pinned build takes it all from there.
        const fromCache = await imgfactory([...args, '--archive-state', pinned]);
        expect(fromCache.exitCode, fromCache.stderr).toBe(0);
        expect((JSON.parse(fromCache.stdout) as Summary).built).toBe(0);
        expect(await probeVersion()).toBe('1');

        // A hook that runs `apt-get update` itself is no network step: its key holds the state through its parents'.
        // Built from today's state it fetches the same release files and is stored; pinned to the first state, it
        // fetches the state the archive serves now, and is refused like the network steps.
        const withFetch = [...args.slice(0, 3), 'fetch-lists', ...args.slice(3)];
        const fetched = await imgfactory([...withFetch, '--archive-state', 'live']);
        expect(fetched.exitCode, fetched.stderr).toBe(0);
        expect((JSON.parse(fetched.stdout) as Summary).steps.find((st) => st.id === 'fetch-lists/install.d/50-apt-update')?.status).toBe('built');
        const fetchedPinned = await imgfactory([...withFetch, '--archive-state', pinned]);
        expect(fetchedPinned.exitCode, fetchedPinned.stderr).toBe(1);
        expect(fetchedPinned.stderr).toContain('fetch-lists/install.d/50-apt-update installed from another state of the archive than its key holds; its layer was not stored');
        expect(fetchedPinned.stderr).toContain(`local: keyed with the state of ${localDate(first.manifest)}, the mirror served the state of ${localDate(third.manifest)}`);
      } finally {
        await archive.stop();
      }
    },
    LONG,
  );

  it('a malformed --apt-source is refused before anything is built (exit 2), naming the line', async () => {
    const dir = await scratchDir('local-archive-bad');
    const r = await imgfactory(['build', 'base', '-t', 'tar', '--apt-source', 'http://127.0.0.1:1/repo local', '--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--apt-source "http://127.0.0.1:1/repo local": it names no component');
  });
});
