// Reading the archive state from a mirror on loopback: the release files it
// serves, a new state once it publishes, the Release fallback, and the
// failures of a mirror that is down, broken, slow or not a mirror.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArchiveState } from '../../../src/distro/archive-fetch.js';
import { FIXTURES } from '../../support/fixtures.js';
import { scratchDir } from '../../support/run-dir.js';
import { closedPort, startReleaseServer, type ReleaseServer } from '../../support/release-server.js';
import { failureOf } from '../../support/failure-of.js';

const fixture = (name: string): Promise<Buffer> => readFile(path.join(FIXTURES, 'archive', name));
let server: ReleaseServer;
const suites = (): { suite: string; mirror: string }[] => [
  { suite: 'bookworm', mirror: `${server.url}/debian` },
  { suite: 'bookworm-security', mirror: `${server.url}/debian-security/` },
];

beforeEach(async () => {
  server = await startReleaseServer();
  server.files.set('/debian/dists/bookworm/InRelease', await fixture('bookworm.InRelease'));
  server.files.set('/debian-security/dists/bookworm-security/InRelease', await fixture('bookworm.InRelease'));
});
afterEach(() => server.stop());

describe('readArchiveState', () => {
  it("reads each suite's InRelease: its URL, digest and date", async () => {
    const state = await readArchiveState(suites());
    expect(state.map((s) => [s.suite, s.url, s.date])).toEqual([
      ['bookworm', `${server.url}/debian/dists/bookworm/InRelease`, 'Sat, 11 Jul 2026 10:16:37 UTC'],
      ['bookworm-security', `${server.url}/debian-security/dists/bookworm-security/InRelease`, 'Sat, 11 Jul 2026 10:16:37 UTC'],
    ]);
    expect(state[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives another state once the mirror publishes, the same one while it does not', async () => {
    const before = await readArchiveState(suites());
    expect(await readArchiveState(suites())).toEqual(before);
    const published = (await fixture('bookworm.InRelease')).toString().replace('Date: Sat, 11 Jul 2026 10:16:37 UTC', 'Date: Sat, 11 Jul 2026 16:20:01 UTC');
    server.files.set('/debian-security/dists/bookworm-security/InRelease', Buffer.from(published));
    const after = await readArchiveState(suites());
    expect(after[0]).toEqual(before[0]);
    expect(after[1]!.sha256).not.toBe(before[1]!.sha256);
    expect(after[1]!.date).toBe('Sat, 11 Jul 2026 16:20:01 UTC');
  });

  it('reads Release where the mirror has no InRelease', async () => {
    server.files.delete('/debian/dists/bookworm/InRelease');
    server.files.set('/debian/dists/bookworm/Release', await fixture('bookworm.Release'));
    const [bookworm] = await readArchiveState(suites());
    expect(bookworm!.url).toBe(`${server.url}/debian/dists/bookworm/Release`);
  });

  it('follows a redirect, as a mirror redirector answers, and names the file it was sent to', async () => {
    server.files.set('/debian/dists/bookworm/InRelease', { redirect: '/mirror-2/debian/dists/bookworm/InRelease' });
    server.files.set('/mirror-2/debian/dists/bookworm/InRelease', await fixture('bookworm.InRelease'));
    const [bookworm] = await readArchiveState(suites());
    expect(bookworm!.url).toBe(`${server.url}/debian/dists/bookworm/InRelease`);
    expect(bookworm!.date).toBe('Sat, 11 Jul 2026 10:16:37 UTC');
    expect(server.seen).toContain('/mirror-2/debian/dists/bookworm/InRelease');
  });

  it('fails naming the URL when the mirror has neither file, answers an error, or serves no release file', async () => {
    server.files.delete('/debian/dists/bookworm/InRelease');
    expect(await failureOf(readArchiveState(suites()))).toEqual({ reason: 'archive-unreachable', url: `${server.url}/debian/dists/bookworm/InRelease`, message: 'the mirror has no bookworm (neither InRelease nor Release)' });
    server.files.set('/debian/dists/bookworm/InRelease', 503);
    expect(await failureOf(readArchiveState(suites()))).toEqual({ reason: 'archive-unreachable', url: `${server.url}/debian/dists/bookworm/InRelease`, message: 'HTTP 503 Service Unavailable' });
    server.files.set('/debian/dists/bookworm/InRelease', Buffer.from('<html>sign in to the wifi</html>'));
    expect(await failureOf(readArchiveState(suites()))).toEqual({ reason: 'archive-unreachable', url: `${server.url}/debian/dists/bookworm/InRelease`, message: 'not a Release file (no "Date:" field)' });
  });

  it('fails naming the URL when nothing listens, or nothing answers in time', async () => {
    const port = await closedPort();
    const down = [{ suite: 'bookworm', mirror: `http://127.0.0.1:${port}/debian` }];
    expect(await failureOf(readArchiveState(down))).toEqual({ reason: 'archive-unreachable', url: `http://127.0.0.1:${port}/debian/dists/bookworm/InRelease`, message: 'ECONNREFUSED' });
    server.files.set('/debian/dists/bookworm/InRelease', 'hang');
    expect(await failureOf(readArchiveState(suites(), undefined, 300))).toEqual({ reason: 'archive-unreachable', url: `${server.url}/debian/dists/bookworm/InRelease`, message: 'no answer within 0.3 s' });
  });

  it('reads a file: mirror from disk', async () => {
    const mirror = await scratchDir('file-mirror');
    await mkdir(path.join(mirror, 'dists', 'bookworm'), { recursive: true });
    await writeFile(path.join(mirror, 'dists', 'bookworm', 'Release'), await fixture('bookworm.Release'));
    const [s] = await readArchiveState([{ suite: 'bookworm', mirror: `file://${mirror}` }]);
    expect(s).toMatchObject({ url: `file://${mirror}/dists/bookworm/Release`, date: 'Sat, 11 Jul 2026 10:16:37 UTC' });
  });
});
