import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../../src/distro/load-distro.js';
import { unwrap } from '../../../src/failure.js';
import { resolveImage } from '../../../src/graph/resolve.js';
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
