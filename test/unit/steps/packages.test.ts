import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../../src/distro/load-distro.js';
import type { Element } from '../../../src/elements/element.js';
import { parsePackageInstalls } from '../../../src/elements/package-installs.js';
import { unwrap } from '../../../src/failure.js';
import { mapPackageName, packageSteps } from '../../../src/steps/packages.js';

function element(name: string, yaml: string, pkgMap: Record<string, unknown> | null = null): Element {
  const parsed = parsePackageInstalls(yaml);
  if (!parsed.ok) throw new Error(parsed.message);
  return { name, dir: `/x/${name}`, origin: '/x', overrides: [], description: '', deps: [], provides: [], hooks: {}, installTypes: [], environmentD: [], packages: parsed.packages, packagesFile: null, pkgMap, blockDevice: null, volatilePaths: [], hasBin: false, hasStatic: false, warnings: [] };
}

describe('packageSteps', () => {
  it('installs at 01 and removes uninstall and build-only packages at 99, per phase, sorted', async () => {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const steps = packageSteps(
      [
        element('a', 'vim:\ngcc: {build-only: true}\nnano: {uninstall: true}\ngrub-pc: {phase: pre-install.d}\n'),
        element('b', 'curl:\nvim:\nonly-arm: {arch: arm64}\nmaybe: {when: DIB_MAYBE = 1}\n'),
      ],
      distro,
      {},
    );
    expect(steps.map((s) => [s.id, s.packages.map((p) => `${p.name}@${p.element}`)])).toEqual([
      ['package-installs/install.d/01-package-installs', ['curl@b', 'gcc@a', 'vim@a']],
      ['package-installs/pre-install.d/01-package-installs', ['grub-pc@a']],
      ['package-installs/install.d/99-package-uninstalls', ['gcc@a', 'nano@a']],
    ]);
    const withVar = packageSteps([element('b', 'maybe: {when: DIB_MAYBE = 1}\n')], distro, { DIB_MAYBE: '1' });
    expect(withVar[0]!.packages.map((p) => p.name)).toEqual(['maybe']);
  });

  it('maps generic names through pkg-map, most specific first', async () => {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const e = element('m', '', {
      default: { foo: 'foo-default', bar: 'bar-default' },
      family: { debian: { foo: 'foo-debian' } },
      release: { debian: { bookworm: { baz: 'baz-bookworm' } } },
    });
    expect(mapPackageName(e, distro, 'foo')).toBe('foo-debian');
    expect(mapPackageName(e, distro, 'bar')).toBe('bar-default');
    expect(mapPackageName(e, distro, 'baz')).toBe('baz-bookworm');
    expect(mapPackageName(e, distro, 'other')).toBe('other');
  });
});
