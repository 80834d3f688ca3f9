import { describe, expect, it } from 'vitest';
import { mmdebstrapArgs } from '../../../src/distro/bootstrap.js';
import { loadDistro } from '../../../src/distro/load-distro.js';
import { applyOverrides, aptSources, archiveSuites, parseAptSource, snapshotOverride } from '../../../src/distro/sources.js';
import { FailureError, unwrap } from '../../../src/failure.js';

const bookworm = async () => unwrap(await loadDistro('debian-bookworm'));

describe('archiveSuites', () => {
  it('names the release, its -updates and its security suite with their mirrors, in the order of the apt sources', async () => {
    const d = await bookworm();
    expect(archiveSuites(d)).toEqual([
      { suite: 'bookworm', mirror: 'http://deb.debian.org/debian' },
      { suite: 'bookworm-updates', mirror: 'http://deb.debian.org/debian' },
      { suite: 'bookworm-security', mirror: 'http://deb.debian.org/debian-security' },
    ]);
    expect(aptSources(d)).toEqual(archiveSuites(d).map((s) => `deb ${s.mirror} ${s.suite} main`));
    expect(archiveSuites({ ...d, updates: false, security: null })).toEqual([{ suite: 'bookworm', mirror: 'http://deb.debian.org/debian' }]);
  });

  it('follows the overrides: another mirror, another release', async () => {
    const d = applyOverrides(await bookworm(), { mirror: 'http://mirror.example/debian', release: 'trixie' });
    expect(archiveSuites(d).map((s) => `${s.mirror} ${s.suite}`)).toEqual(['http://mirror.example/debian trixie', 'http://mirror.example/debian trixie-updates', 'http://deb.debian.org/debian-security trixie-security']);
  });
});

describe('--snapshot', () => {
  it('points both mirrors at the snapshot archive of that time, after any mirror override, and tells apt to accept its expired Release files', async () => {
    const d = applyOverrides(await bookworm(), { mirror: 'http://mirror.example/debian' }, snapshotOverride('20230610T085347Z', 'http://snapshot.example/'));
    expect(archiveSuites(d)).toEqual([
      { suite: 'bookworm', mirror: 'http://snapshot.example/archive/debian/20230610T085347Z/' },
      { suite: 'bookworm-updates', mirror: 'http://snapshot.example/archive/debian/20230610T085347Z/' },
      { suite: 'bookworm-security', mirror: 'http://snapshot.example/archive/debian-security/20230610T085347Z/' },
    ]);
    expect(mmdebstrapArgs(d, '/t')).toContain('--aptopt=Acquire::Check-Valid-Until "false"');
    expect(mmdebstrapArgs(await bookworm(), '/t')).not.toContain('--aptopt=Acquire::Check-Valid-Until "false"');
    expect(snapshotOverride('20230610T085347Z')).toEqual({ snapshot: { base: 'http://snapshot.debian.org', timestamp: '20230610T085347Z' } });
  });

  it('refuses what is not a snapshot timestamp', () => {
    for (const bad of ['2023-06-10', '20230610', '20230610T085347', 'latest']) {
      expect(() => snapshotOverride(bad)).toThrow(FailureError);
    }
  });
});

describe('extra archives (--apt-source, extra-sources)', () => {
  it('parses one apt source line, with or without "deb" and options', () => {
    expect(parseAptSource('[trusted=yes] http://127.0.0.1:8080/repo local main contrib')).toEqual({ mirror: 'http://127.0.0.1:8080/repo', suite: 'local', components: ['main', 'contrib'], options: 'trusted=yes' });
    expect(parseAptSource('deb https://example.org/debian bookworm-backports main')).toEqual({ mirror: 'https://example.org/debian', suite: 'bookworm-backports', components: ['main'], options: null });
  });

  it('says what is wrong with a line it cannot key', () => {
    expect(parseAptSource('http://h/repo local')).toEqual({ problem: 'it names no component (e.g. main)' });
    expect(parseAptSource('http://h/repo ./ main')).toMatchObject({ problem: expect.stringMatching(/flat repository/) });
    expect(parseAptSource('ftp://h/repo local main')).toMatchObject({ problem: expect.stringMatching(/not an http or https URL/) });
    expect(parseAptSource('nonsense')).toMatchObject({ problem: expect.stringMatching(/URL SUITE COMPONENT/) });
  });

  it('comes after the distro\'s suites, in the sources, the archive state and the bootstrap\'s arguments', async () => {
    const base = unwrap(await loadDistro('debian-bookworm'));
    const extra = parseAptSource('[trusted=yes] http://127.0.0.1:8080/repo local main');
    if ('problem' in extra) throw new Error(extra.problem);
    const d = applyOverrides(base, { extraSources: [extra] });
    expect(aptSources(d).at(-1)).toBe('deb [trusted=yes] http://127.0.0.1:8080/repo local main');
    expect(archiveSuites(d).at(-1)).toEqual({ suite: 'local', mirror: 'http://127.0.0.1:8080/repo' });
    expect(archiveSuites(d).slice(0, -1)).toEqual(archiveSuites(base));
    expect(mmdebstrapArgs(d, '/t')).toContain('deb [trusted=yes] http://127.0.0.1:8080/repo local main');
    expect(mmdebstrapArgs(d, '/t')).not.toEqual(mmdebstrapArgs(base, '/t'));
  });
});
