// Where a build's archive state comes from: read live from a mirror on
// loopback and recorded in the cache; the cache's record with the mirror
// down (--archive-state cached); a state file or manifest; and the usage
// errors of a mode that has nothing to go on.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCHIVE_DIR } from '../../../src/cache/format.js';
import { archiveSource, parseArchiveStateMode, type ArchiveStateMode } from '../../../src/engine/archive-source.js';
import { FIXTURES } from '../../support/fixtures.js';
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.js';
import { scratchDir } from '../../support/run-dir.js';
import { failureOf } from '../../support/failure-of.js';

let server: ReleaseServer;
let cacheDir: string;
let notes: string[];
const suites = (): { suite: string; mirror: string }[] => [
  { suite: 'bookworm', mirror: `${server.url}/debian` },
  { suite: 'bookworm-updates', mirror: `${server.url}/debian` },
];
const source = (mode: ArchiveStateMode, over: { cacheDir?: string | null; suites?: { suite: string; mirror: string }[] } = {}) =>
  archiveSource({ mode, suites: over.suites ?? suites(), cacheDir: over.cacheDir === undefined ? cacheDir : over.cacheDir, note: (m) => notes.push(m) });

beforeEach(async () => {
  server = await startReleaseServer();
  const bytes = await readFile(path.join(FIXTURES, 'archive', 'bookworm.InRelease'));
  server.files.set('/debian/dists/bookworm/InRelease', bytes);
  server.files.set('/debian/dists/bookworm-updates/InRelease', Buffer.concat([bytes, Buffer.from('\n')]));
  cacheDir = await scratchDir('archive-cache');
  notes = [];
});
afterEach(() => server.stop());

describe('parseArchiveStateMode', () => {
  it('reads live, cached, or a file path', () => {
    expect(parseArchiveStateMode('live')).toEqual({ kind: 'live' });
    expect(parseArchiveStateMode('cached')).toEqual({ kind: 'cached' });
    expect(parseArchiveStateMode('state.json')).toEqual({ kind: 'file', file: path.resolve('state.json') });
  });
});

describe('archiveSource', () => {
  it('live: reads the mirror once however often asked, says nothing, and records the state only when told the build succeeded', async () => {
    const live = source({ kind: 'live' });
    const state = await live.read();
    expect(await live.read()).toBe(state);
    expect(state.from).toBe('archive');
    expect(state.suites.map((s) => s.suite)).toEqual(['bookworm', 'bookworm-updates']);
    expect(server.seen).toEqual(['/debian/dists/bookworm/InRelease', '/debian/dists/bookworm-updates/InRelease']);
    expect(notes).toEqual([]);
    expect(await readdir(cacheDir)).toEqual([]);
    await live.record();
    const [file] = await readdir(path.join(cacheDir, ARCHIVE_DIR));
    expect(JSON.parse(await readFile(path.join(cacheDir, ARCHIVE_DIR, file!), 'utf8'))).toEqual({ v: 'imgfactory.archive-state.v1', suites: state.suites });
  });

  it('cached: the state the cache recorded, the mirror not asked (it may be down), and a note saying so', async () => {
    const live = source({ kind: 'live' });
    const recorded = await live.read();
    await live.record();
    await server.stop();
    const cached = await source({ kind: 'cached' }).read();
    expect(cached).toEqual({ from: 'cache', suites: recorded.suites });
    expect(notes).toEqual([
      'archive state: the one this cache recorded (bookworm of Sat, 11 Jul 2026 10:16:37 UTC, bookworm-updates of Sat, 11 Jul 2026 10:16:37 UTC); the archive was not read (--archive-state cached)',
    ]);
    server = await startReleaseServer(); // for afterEach to stop
  });

  it('cached: a usage error when the cache recorded nothing for these suites and mirrors, or there is no cache', async () => {
    expect(await failureOf(source({ kind: 'cached' }).read())).toMatchObject({ reason: 'usage', message: expect.stringMatching(/^--archive-state cached: the cache .* has recorded no state of bookworm \(http:\/\/127/) });
    const live = source({ kind: 'live' });
    await live.read();
    await live.record();
    const other = [{ suite: 'bookworm', mirror: 'http://mirror.example/debian' }];
    expect(await failureOf(source({ kind: 'cached' }, { suites: other }).read())).toMatchObject({ reason: 'usage', message: expect.stringContaining('has recorded no state of bookworm (http://mirror.example/debian/dists/bookworm/InRelease)') });
    expect(await failureOf(source({ kind: 'cached' }, { cacheDir: null }).read())).toMatchObject({ reason: 'usage', message: '--archive-state cached: there is no cache (--no-cache)' });
  });

  it('FILE: the state in a recorded state file or a manifest, refused when it is of other suites', async () => {
    const live = source({ kind: 'live' });
    const state = await live.read();
    await live.record();
    const [recorded] = await readdir(path.join(cacheDir, ARCHIVE_DIR));
    const dir = await scratchDir('archive-files');
    const manifest = path.join(dir, 'img.manifest.json');
    await writeFile(manifest, JSON.stringify({ schema: 'imgfactory.manifest.v1', archive: state }));
    for (const file of [path.join(cacheDir, ARCHIVE_DIR, recorded!), manifest]) {
      expect(await source({ kind: 'file', file }, { cacheDir: null }).read()).toEqual({ from: 'file', suites: state.suites });
    }
    expect(notes[0]).toMatch(/^archive state: from .*archive-v1\/[0-9a-f]{64}\.json \(bookworm of Sat, 11 Jul 2026 10:16:37 UTC, /);
    const other = [{ suite: 'bookworm', mirror: `${server.url}/debian` }];
    expect(await failureOf(source({ kind: 'file', file: manifest }, { suites: other }).read())).toMatchObject({ reason: 'usage', message: expect.stringContaining(`${manifest}: it is of bookworm (`) });
    expect(await failureOf(source({ kind: 'file', file: path.join(dir, 'missing.json') }).read())).toMatchObject({ reason: 'usage', message: `--archive-state ${path.join(dir, 'missing.json')}: no such file` });
  });
});
