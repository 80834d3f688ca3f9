import { describe, expect, it } from 'vitest';
import { listDistros, loadDistro, validateDistro } from '../../../src/distro/load-distro.js';
import { unwrap } from '../../../src/failure.js';

describe('distros', () => {
  it('ships debian-bookworm and debian-trixie', async () => {
    expect(await listDistros()).toEqual(['debian-bookworm', 'debian-trixie']);
    const d = unwrap(await loadDistro('debian-bookworm'));
    expect(d).toMatchObject({
      release: 'bookworm',
      mirror: 'http://deb.debian.org/debian',
      security: { mirror: 'http://deb.debian.org/debian-security', suite: 'bookworm-security' },
      bootstrap: { tool: 'mmdebstrap', variant: 'minbase' },
    });
    expect(d.provides).toContain('operating-system');
    expect(unwrap(await loadDistro('debian-trixie')).security?.suite).toBe('trixie-security');
  });

  it('an unknown distro lists the known ones', async () => {
    const r = await loadDistro('debian-potato');
    expect(r).toMatchObject({ ok: false, error: { reason: 'bad-distro', distro: 'debian-potato', known: ['debian-bookworm', 'debian-trixie'] } });
  });

  it.each([
    [{ family: 'debian', release: 'x', arch: 'amd64', mirror: 'm', keyring: 'k', bootstrap: { tool: 'debootstrap' }, components: ['main'] }, 'bootstrap.tool'],
    [{ family: 'fedora', release: 'x', arch: 'amd64', mirror: 'm', keyring: 'k', bootstrap: { tool: 'mmdebstrap' }, components: ['main'] }, 'family'],
    [{ family: 'debian', release: 'x', arch: 'amd64', mirror: 'm', keyring: 'k', bootstrap: { tool: 'mmdebstrap' }, components: [] }, 'components'],
    [{ family: 'debian', arch: 'amd64', mirror: 'm', keyring: 'k', bootstrap: { tool: 'mmdebstrap' }, components: ['main'] }, 'release'],
    [{ family: 'debian', release: 'x', arch: 'amd64', mirror: 'm', keyring: 'k', bootstrap: { tool: 'mmdebstrap', variant: 'huge' }, components: ['main'] }, 'variant'],
    [{ family: 'debian', release: 'x', arch: 'amd64', mirror: 'm', keyring: 'k', bootstrap: { tool: 'mmdebstrap' }, components: ['main'], 'extra-sources': ['http://h/repo local'] }, '"extra-sources": "http://h/repo local": it names no component'],
  ])('validates %j', (raw, field) => {
    const r = validateDistro('x', '/d/x/distro.yaml', raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ reason: 'bad-distro', file: '/d/x/distro.yaml', message: expect.stringContaining(field) });
  });

  it('reads extra-sources as one-line apt sources', () => {
    const raw = { family: 'debian', release: 'x', arch: 'amd64', mirror: 'm', keyring: 'k', bootstrap: { tool: 'mmdebstrap' }, components: ['main'], 'extra-sources': ['[trusted=yes] http://h/repo local main'] };
    expect(unwrap(validateDistro('x', '/d/x/distro.yaml', raw)).extraSources).toEqual([{ mirror: 'http://h/repo', suite: 'local', components: ['main'], options: 'trusted=yes' }]);
    expect(unwrap(validateDistro('x', '/d/x/distro.yaml', { ...raw, 'extra-sources': undefined })).extraSources).toEqual([]);
  });
});
