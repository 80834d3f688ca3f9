// Real builds keyed with the archive's state (src/engine/archive-source.ts).
// The run's builds share one state read at its start (support/archive-pin.ts),
// so these tests pass whatever Debian publishes meanwhile: the builds that
// read the archive live assert nothing that a publication would change, and
// the "archive moved" build is handed a state that differs from the run's
// (one suite's digest changed) instead of waiting for Debian: the mirror
// serves the run's state, so that build is refused (engine/archive-check.ts).
// The build that succeeds from a newer state is local-archive's.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHIVE_DIR } from '../../src/cache/format.js';
import type { ArchiveStateFile } from '../../src/distro/archive-state.js';
import type { Manifest } from '../../src/manifest/manifest.js';
import { pinnedArchiveState } from '../support/archive-pin.js';
import { buildArgs, COUNT_STEPS as ALL, ran, runner } from '../support/count-runner.js';
import { imgfactory, type Run } from '../support/imgfactory.js';
import { closedPort } from '../support/release-server.js';
import { scaled } from '../support/slowdown.js';

const LONG = scaled(900_000);

async function ok(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const r = await imgfactory(args, env);
  if (r.exitCode !== 0) throw new Error(`build failed (${r.exitCode}):\n${r.stderr}`);
  return r;
}

const statuses = (r: Run): Record<string, string> => Object.fromEntries((JSON.parse(r.stdout) as { steps: { id: string; status: string }[] }).steps.map((s) => [s.id, s.status]));
const manifestOf = async (out: string): Promise<Manifest> => JSON.parse(await readFile(path.join(out, 'count-a.manifest.json'), 'utf8')) as Manifest;

describe('builds keyed with the archive state', () => {
  it(
    'the network steps are cached while the archive state is the same; keyed with a state the mirror does not serve, they miss the cache and are refused before anything is stored',
    async () => {
      const r = await runner('archive-moved', true);
      // The run's state: the shared base cache was built with it, so the base tree is a hit.
      const first = await ok(buildArgs(r));
      expect(statuses(first)['distro/debian-bookworm']).toBe('cached');
      expect(ran(first)).toEqual(ALL);
      expect(ran(await ok(buildArgs(r)))).toEqual([]);
      const before = await readFile(path.join(r.out, 'count-a.manifest.json'), 'utf8');

      // A state that differs from the run's in one suite's digest: another key, so the base tree is built again;
      // apt fetches what the mirror serves (the run's state), which is not the keyed one, so the layer is refused.
      const pinned = JSON.parse(await readFile(await pinnedArchiveState(), 'utf8')) as ArchiveStateFile;
      const moved = path.join(r.dir, 'published.json');
      const security = pinned.suites.findIndex((s) => s.suite === 'bookworm-security');
      await writeFile(moved, JSON.stringify({ ...pinned, suites: pinned.suites.map((s, i) => (i === security ? { ...s, sha256: 'f'.repeat(64) } : s)) }));
      const refused = await imgfactory(buildArgs(r, 'build-moved'), { IMGFACTORY_ARCHIVE_STATE: moved });
      expect(refused.exitCode, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`archive state: from ${moved}`);
      expect(refused.stderr).toContain('distro/debian-bookworm running');
      expect(refused.stderr).toContain('distro/debian-bookworm installed from another state of the archive than its key holds; its layer was not stored');
      expect(refused.stderr).toContain(`(sha256 ${'f'.repeat(64)}), the mirror served the state of`);
      expect(await readFile(path.join(r.out, 'count-a.manifest.json'), 'utf8')).toBe(before);

      // Back to the run's state: its layers are all still there.
      const back = await ok(buildArgs(r));
      expect(ran(back)).toEqual([]);
      expect(Object.values(statuses(back)).every((s) => s === 'cached')).toBe(true);
    },
    LONG,
  );

  it(
    'a build that reads the archive records its state in the cache; --archive-state cached builds from it and says so',
    async () => {
      const r = await runner('archive-live', true);
      await ok(buildArgs(r), { IMGFACTORY_ARCHIVE_STATE: 'live' });
      const live = await manifestOf(r.out);
      expect(live.archive?.from).toBe('archive');
      expect(live.archive?.suites.map((s) => s.url)).toEqual([
        'http://deb.debian.org/debian/dists/bookworm/InRelease',
        'http://deb.debian.org/debian/dists/bookworm-updates/InRelease',
        'http://deb.debian.org/debian-security/dists/bookworm-security/InRelease',
      ]);
      expect(await readdir(path.join(r.cache, ARCHIVE_DIR))).toHaveLength(1);

      const offline = await ok([...buildArgs(r), '--archive-state', 'cached'], { IMGFACTORY_ARCHIVE_STATE: 'live' });
      expect(offline.stderr).toMatch(/note: archive state: the one this cache recorded \(bookworm of .*\); the archive was not read \(--archive-state cached\)/);
      expect(ran(offline)).toEqual([]);
      const cached = await manifestOf(r.out);
      expect(cached.archive).toEqual({ from: 'cache', suites: live.archive?.suites });

      const empty = await runner('archive-none', false);
      const refused = await imgfactory([...buildArgs(empty), '--archive-state', 'cached']);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/--archive-state cached: the cache .* has recorded no state of bookworm \(http:\/\/deb\.debian\.org\/debian\/dists\/bookworm\/InRelease\)/);
    },
    LONG,
  );

  it('an archive that cannot be read fails the build, naming the URL and the offline mode', async () => {
    const r = await runner('archive-down', false);
    const port = await closedPort();
    const down = await imgfactory([...buildArgs(r), '--mirror', `http://127.0.0.1:${port}/debian`], { IMGFACTORY_ARCHIVE_STATE: 'live' });
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toContain(`cannot read the archive's state from http://127.0.0.1:${port}/debian/dists/bookworm/InRelease: ECONNREFUSED`);
    expect(down.stderr).toContain('--archive-state cached');
  });
});
