import { describe, expect, it } from 'vitest';
import { MANIFEST_SCHEMA, type Manifest } from '../../../src/manifest/manifest.js';
import { provenance } from '../../../src/manifest/provenance.js';

const manifest = (over: Partial<Manifest> = {}): Manifest => ({
  schema: MANIFEST_SCHEMA,
  image: 'img',
  tag: '',
  outputs: [],
  elements: [{ name: 'base', digest: `sha256:${'d'.repeat(64)}`, origin: '/e/base' }],
  layerKeys: [],
  distro: { name: 'debian-bookworm', release: 'bookworm', arch: 'amd64' },
  packages: [],
  tool: { name: 'imgfactory', version: '0.1.0' },
  sourceDateEpoch: null,
  inputs: {},
  layout: null,
  glance: {},
  ...over,
});

describe('provenance', () => {
  it("lists the archive's release files among the resolved dependencies, and where the state came from", () => {
    const url = 'http://deb.debian.org/debian-security/dists/bookworm-security/InRelease';
    const p = provenance(manifest({ archive: { from: 'cache', suites: [{ suite: 'bookworm-security', url, sha256: 'e'.repeat(64), date: 'Sat, 11 Jul 2026 10:16:37 UTC' }] } }));
    expect(p.predicate.buildDefinition.resolvedDependencies).toEqual([
      { name: 'base', uri: 'file:///e/base', digest: { sha256: 'd'.repeat(64) } },
      { name: 'archive/bookworm-security', uri: url, digest: { sha256: 'e'.repeat(64) }, annotations: { date: 'Sat, 11 Jul 2026 10:16:37 UTC' } },
    ]);
    expect(p.predicate.buildDefinition.internalParameters).toEqual({ sourceDateEpoch: null, archiveStateFrom: 'cache' });
  });

  it('is as before for a manifest with no archive state', () => {
    const p = provenance(manifest());
    expect(p.predicate.buildDefinition.resolvedDependencies.map((d) => d.name)).toEqual(['base']);
    expect(p.predicate.buildDefinition.internalParameters).toEqual({ sourceDateEpoch: null });
  });
});
