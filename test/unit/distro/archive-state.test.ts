import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { aptListName, ARCHIVE_STATE_TAG, archiveKey, movedSuites, releaseDate, releaseUrls, stateFileSuites, suitesMismatch, suiteState, type SuiteState } from '../../../src/distro/archive-state.js';
import { FIXTURES } from '../../support/fixtures.js';

const fixture = (name: string): Promise<Buffer> => readFile(path.join(FIXTURES, 'archive', name));
const DATE = 'Sat, 11 Jul 2026 10:16:37 UTC';
const SUITES = [
  { suite: 'bookworm', mirror: 'http://deb.debian.org/debian' },
  { suite: 'bookworm-security', mirror: 'http://deb.debian.org/debian-security/' },
];
const state = (suite: string, url: string): SuiteState => ({ suite, url, sha256: 'a'.repeat(64), date: DATE });

describe('releaseDate', () => {
  it("reads the Date: of a real (clear-signed) InRelease and of a Release file", async () => {
    expect(releaseDate(await fixture('bookworm.InRelease'))).toEqual({ date: DATE });
    expect(releaseDate(await fixture('bookworm.Release'))).toEqual({ date: DATE });
  });

  it('says what is wrong with what is not a release file', () => {
    expect(releaseDate(Buffer.from('<html><body>Welcome to the hotel wifi</body></html>\n'))).toEqual({ problem: 'not a Release file (no "Date:" field)' });
    expect(releaseDate(Buffer.from('Origin: Debian\nDate: yesterday\n'))).toEqual({ problem: 'its "Date:" field "yesterday" is not a date' });
    expect(releaseDate(Buffer.from('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256'))).toEqual({ problem: 'a clear-signed message with no signed text' });
  });

  it('reads only the release\'s own fields, not a Date: further down', () => {
    expect(releaseDate(Buffer.from('Origin: Debian\n\nDate: Sat, 11 Jul 2026 10:16:37 UTC\n'))).toEqual({ problem: 'not a Release file (no "Date:" field)' });
  });
});

describe('suiteState', () => {
  it('names the file by the sha256 of its bytes', async () => {
    const bytes = await fixture('bookworm.InRelease');
    const url = 'http://deb.debian.org/debian/dists/bookworm/InRelease';
    expect(suiteState('bookworm', url, bytes)).toEqual({ suite: 'bookworm', url, sha256: createHash('sha256').update(bytes).digest('hex'), date: DATE });
  });

  it('gives another state for one byte more (the archive published)', async () => {
    const bytes = await fixture('bookworm.InRelease');
    const a = suiteState('bookworm', 'u', bytes) as SuiteState;
    const b = suiteState('bookworm', 'u', Buffer.concat([bytes, Buffer.from('\n')])) as SuiteState;
    expect(a.sha256).not.toBe(b.sha256);
  });
});

describe('archiveKey', () => {
  it('holds each suite and its digest, not the mirror nor the date', () => {
    const s = { ...state('bookworm', 'http://a/debian/dists/bookworm/InRelease') };
    expect(archiveKey({ from: 'archive', suites: [s] })).toEqual([{ suite: 'bookworm', sha256: s.sha256 }]);
  });
});

describe('releaseUrls', () => {
  it('puts dists/<suite> under the mirror, with or without its trailing slash', () => {
    expect(releaseUrls(SUITES[1]!)).toEqual({
      inRelease: 'http://deb.debian.org/debian-security/dists/bookworm-security/InRelease',
      release: 'http://deb.debian.org/debian-security/dists/bookworm-security/Release',
    });
  });
});

describe('suitesMismatch', () => {
  const recorded = [state('bookworm', 'http://deb.debian.org/debian/dists/bookworm/InRelease'), state('bookworm-security', 'http://deb.debian.org/debian-security/dists/bookworm-security/Release')];

  it('accepts a state of the same suites from the same mirrors (InRelease or Release)', () => {
    expect(suitesMismatch(recorded, SUITES)).toBeNull();
  });

  it('refuses another mirror, another suite, a suite more or less', () => {
    expect(suitesMismatch(recorded, [{ ...SUITES[0]!, mirror: 'http://mirror.example/debian' }, SUITES[1]!])).toMatch(/^it is of bookworm \(http:\/\/deb\.debian\.org.*this build installs from bookworm \(http:\/\/mirror\.example/);
    expect(suitesMismatch(recorded, [SUITES[0]!, { ...SUITES[1]!, suite: 'trixie-security' }])).not.toBeNull();
    expect(suitesMismatch(recorded.slice(0, 1), SUITES)).not.toBeNull();
    expect(suitesMismatch(recorded, SUITES.slice(0, 1))).not.toBeNull();
  });
});

describe('stateFileSuites', () => {
  const suites = [state('bookworm', 'http://x/dists/bookworm/InRelease')];

  it('reads a state file the cache keeps and the archive field of a manifest', () => {
    expect(stateFileSuites({ v: ARCHIVE_STATE_TAG, suites })).toEqual(suites);
    expect(stateFileSuites({ schema: 'imgfactory.manifest.v1', archive: { from: 'archive', suites } })).toEqual(suites);
  });

  it('says what is wrong with anything else', () => {
    expect(stateFileSuites({ schema: 'imgfactory.manifest.v1' })).toEqual({ problem: `neither an archive state file ("v": "${ARCHIVE_STATE_TAG}") nor a manifest with an "archive" field` });
    expect(stateFileSuites(null)).toHaveProperty('problem');
    expect(stateFileSuites({ v: ARCHIVE_STATE_TAG, suites: [{ ...suites[0], sha256: 'abc' }] })).toEqual({ problem: 'suite 1 needs "suite", "url", "date" and a 64-digit hex "sha256"' });
  });
});

describe('aptListName', () => {
  it('names a release file as apt keeps it in /var/lib/apt/lists (as a Debian 12 host has them)', () => {
    expect(aptListName('http://deb.debian.org/debian/dists/bookworm/InRelease')).toBe('deb.debian.org_debian_dists_bookworm_InRelease');
    expect(aptListName('http://deb.debian.org/debian-security/dists/bookworm-security/InRelease')).toBe('deb.debian.org_debian-security_dists_bookworm-security_InRelease');
  });

  it('keeps a port, drops credentials and the scheme, and %-escapes what apt escapes', () => {
    expect(aptListName('http://127.0.0.1:41234/repo/dists/local/Release')).toBe('127.0.0.1:41234_repo_dists_local_Release');
    expect(aptListName('https://user:pw@mirror.example/deb_ian/dists/x~1/InRelease')).toBe('mirror.example_deb%5fian_dists_x%7e1_InRelease');
    expect(aptListName('file:/srv/mirror/dists/bookworm/Release')).toBe('_srv_mirror_dists_bookworm_Release');
  });
});

describe('movedSuites', () => {
  const published = async (): Promise<{ bytes: Buffer; s: SuiteState }> => {
    const bytes = await fixture('bookworm.InRelease');
    return { bytes, s: { suite: 'bookworm', url: 'http://deb.debian.org/debian/dists/bookworm/InRelease', sha256: createHash('sha256').update(bytes).digest('hex'), date: DATE } };
  };

  it('accepts the release file of the keyed state, and a suite apt left no file of', async () => {
    const { bytes, s } = await published();
    expect(movedSuites([s], new Map([['deb.debian.org_debian_dists_bookworm_InRelease', bytes]]))).toEqual([]);
    expect(movedSuites([s], new Map())).toEqual([]);
  });

  it('names the suite, the keyed date and the date apt fetched when the file is another', async () => {
    const { s } = await published();
    const newer = Buffer.from('Origin: Debian\nSuite: stable\nDate: Sun, 12 Jul 2026 08:00:00 UTC\n');
    expect(movedSuites([s], new Map([['deb.debian.org_debian_dists_bookworm_InRelease', newer]]))).toEqual([{ suite: 'bookworm', keyed: DATE, found: 'Sun, 12 Jul 2026 08:00:00 UTC' }]);
    expect(movedSuites([s], new Map([['deb.debian.org_debian_dists_bookworm_InRelease', Buffer.from('<html>')]]))[0]!.found).toMatch(/^a file of no date/);
  });

  it('names both digests when the two files carry the same date', async () => {
    const { bytes, s } = await published();
    const keyed = { ...s, sha256: 'f'.repeat(64) };
    const digest = createHash('sha256').update(bytes).digest('hex');
    expect(movedSuites([keyed], new Map([['deb.debian.org_debian_dists_bookworm_InRelease', bytes]]))).toEqual([{ suite: 'bookworm', keyed: `${DATE} (sha256 ${'f'.repeat(64)})`, found: `${DATE} (sha256 ${digest})` }]);
  });
});
