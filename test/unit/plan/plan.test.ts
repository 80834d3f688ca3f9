import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../../src/distro/load-distro.js';
import { unwrap } from '../../../src/failure.js';
import { resolveImage } from '../../../src/graph/resolve.js';
import type { Element } from '../../../src/elements/element.js';
import { loadElement } from '../../../src/elements/load-element.js';
import { planBuild } from '../../../src/plan/plan.js';
import { FIXTURES, fixtureIndex } from '../../support/fixtures.js';

const BUILD = path.join(FIXTURES, 'elements', 'build');

async function plan(names: string[], skip: ('block-device.d')[] = ['block-device.d'], vars: Record<string, string> = {}) {
  const distro = unwrap(await loadDistro('debian-bookworm'));
  const index = await fixtureIndex(BUILD, path.join(FIXTURES, '..', '..', 'elements'));
  const graph = unwrap(resolveImage(names, { index, distro }));
  return planBuild(graph, distro, { vars, skipPhases: skip });
}

describe('planBuild', () => {
  it('merges hooks of all elements per phase in DIB order, base first and finalise last', async () => {
    const p = unwrap(await plan(['rec-b']));
    expect(p.steps.map((s) => `${s.id} ${s.place}`)).toEqual([
      'distro/debian-bookworm outside',
      'rec-b/root.d/10-rec-b outside',
      'rec-a/root.d/20-rec-a outside',
      'rec-a/extra-data.d/10-rec-a outside',
      'rec-a/pre-install.d/50-rec-a inside',
      'package-installs/install.d/01-package-installs inside',
      'rec-b/install.d/05-rec-b inside',
      'rec-a/install.d/10-rec-a inside',
      'rec-b/install.d/50-rec-b inside',
      'rec-a/install.d/70-rec-a inside',
      'rec-a/post-install.d/10-rec-a inside',
      'rec-a/post-root.d/10-rec-a outside',
      'rec-a/pre-finalise.d/10-rec-a outside',
      'rec-a/finalise.d/10-rec-a inside',
      'rec-b/finalise.d/90-rec-b inside',
      'rec-a/cleanup.d/10-rec-a outside',
      'builtin/finalise-tree inside',
    ]);
  });

  it('reports two elements shipping the same hook name in one phase', async () => {
    expect(await plan(['dup-hook'])).toEqual({
      ok: false,
      error: { reason: 'duplicate-hook', phase: 'install.d', script: '10-rec-a', elements: ['rec-a', 'dup-hook'] },
    });
  });
});

describe("planBuild with diskimage-builder's install types", () => {
  /** DIB's install-types element as far as planning goes: its name and its one extra-data.d hook. */
  const installTypes: Element = {
    name: 'install-types',
    dir: '/dib/install-types',
    origin: '/dib',
    overrides: [],
    description: '',
    deps: [],
    provides: [],
    hooks: { 'extra-data.d': [{ phase: 'extra-data.d', name: '99-enable-install-types', path: '/dib/install-types/extra-data.d/99-enable-install-types' }] },
    installTypes: [],
    environmentD: [],
    packages: [],
    packagesFile: null,
    pkgMap: null,
    blockDevice: null,
    volatilePaths: [],
    hasBin: false,
    hasStatic: false,
    warnings: [],
  };

  async function planTyped(vars: Record<string, string>, extra: Element[] = [installTypes]) {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const index = await fixtureIndex(BUILD, path.join(FIXTURES, '..', '..', 'elements'));
    const graph = unwrap(resolveImage(['typed'], { index, distro }));
    return planBuild({ ...graph, elements: [...graph.elements, ...extra] }, distro, { vars, skipPhases: ['block-device.d'] });
  }
  const installD = (p: { steps: { id: string; phase: string }[] }): string[] => p.steps.filter((s) => s.phase === 'install.d').map((s) => s.id);

  it('plans the default type’s hooks among the install.d hooks by name, in place of the plain hook they are linked over, and drops install-types’ own hook', async () => {
    const p = unwrap(await planTyped({}));
    expect(installD(p)).toEqual(['typed/install.d/10-typed-first', 'typed/install.d/typed-source-install/50-typed', 'typed/install.d/90-typed-last']);
    expect(p.steps.some((s) => s.id.startsWith('install-types/'))).toBe(false);
    expect(p.notes).toEqual([
      expect.stringMatching(/^install-types \(\/dib\/install-types\): its hook is done by imgfactory's planner/),
      "typed/install.d/50-typed does not run: install-types links typed/install.d/typed-source-install/50-typed over it, as diskimage-builder's `ln -sf` does",
    ]);
  });

  it('takes the type DIB_INSTALLTYPE_<prefix> names', async () => {
    expect(installD(unwrap(await planTyped({ DIB_INSTALLTYPE_typed: 'package' })))).toContain('typed/install.d/typed-package-install/50-typed');
  });

  it('takes the default environment.d sets (read back before planning as DIB_DEFAULT_INSTALLTYPE), and a prefix’s own variable over it', async () => {
    expect(installD(unwrap(await planTyped({ DIB_DEFAULT_INSTALLTYPE: 'package' })))).toContain('typed/install.d/typed-package-install/50-typed');
    expect(installD(unwrap(await planTyped({ DIB_DEFAULT_INSTALLTYPE: 'package', DIB_INSTALLTYPE_typed: 'source' })))).toContain('typed/install.d/typed-source-install/50-typed');
  });

  it('runs none of a prefix’s types when the chosen one has no directory, and says so', async () => {
    const p = unwrap(await planTyped({ DIB_INSTALLTYPE_typed: 'repo' }));
    expect(installD(p)).toEqual(['typed/install.d/10-typed-first', 'typed/install.d/50-typed', 'typed/install.d/90-typed-last']);
    expect(p.notes).toContain('DIB_INSTALLTYPE_typed=repo: no element has install.d/typed-repo-install, so none of typed-package-install, typed-source-install runs (as in diskimage-builder)');
  });

  it('plans no install type without install-types in the image, as DIB links none, and says so', async () => {
    const p = unwrap(await planTyped({}, []));
    expect(installD(p)).toEqual(['typed/install.d/10-typed-first', 'typed/install.d/50-typed', 'typed/install.d/90-typed-last']);
    expect(p.notes).toEqual([expect.stringMatching(/^typed has install types \(install\.d\/typed-package-install, install\.d\/typed-source-install\), but the image does not include install-types/)]);
  });

  it('refuses two chosen hooks of one name (DIB would keep whichever it happened to link last)', async () => {
    const other = unwrap(await loadElement('typed', path.join(BUILD, 'typed'), BUILD));
    const copy: Element = { ...other, name: 'typed-too', hooks: {}, installTypes: other.installTypes.map((t) => ({ ...t, dir: `too-${t.type}-install`, prefix: 'too' })) };
    expect(await planTyped({}, [installTypes, copy])).toEqual({
      ok: false,
      error: { reason: 'duplicate-hook', phase: 'install.d', script: '50-typed', elements: ['typed', 'typed-too'] },
    });
  });
});
