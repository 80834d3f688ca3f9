import { describe, expect, it } from 'vitest';
import { compareBuilds } from '../../../src/engine/rebuild-check.js';
import type { Manifest, Sha256Hex } from '../../../src/manifest/manifest.js';

const h = (c: string): string => `sha256:${c.repeat(64)}`;
const STEPS = [{ id: 'distro/debian-bookworm' }, { id: 'a/install.d/50-a' }, { id: 'builtin/finalise-tree' }];

function manifest(over: Partial<Manifest> = {}): Manifest {
  return {
    layerKeys: [h('1'), h('2'), h('3')],
    layers: [h('a'), h('b'), h('c')],
    outputs: [{ name: 'x.tar', format: 'tar', size: 1, virtualSize: 1, sha256: '0'.repeat(64), sha512: '0'.repeat(128), md5: '0'.repeat(32) }],
    ...over,
  } as Manifest;
}

describe('compareBuilds', () => {
  it('finds nothing when keys, layers and outputs are the same', () => {
    expect(compareBuilds(manifest(), manifest(), STEPS)).toEqual({ differences: [], layerAt: null });
  });

  it('names the first step whose layer differs, and stops there (every key after it follows from it)', () => {
    const again = manifest({ layerKeys: [h('1'), h('2'), h('9')], layers: [h('a'), h('e'), h('f')] });
    const r = compareBuilds(manifest(), again, STEPS);
    expect(r.layerAt).toBe(1);
    expect(r.differences).toEqual([`step a/install.d/50-a wrote other bytes: layer ${h('b')} then, ${h('e')} now (every key after it follows from them)`]);
  });

  it('says the inputs changed when a key differs with every layer before it the same', () => {
    const r = compareBuilds(manifest(), manifest({ layerKeys: [h('1'), h('7'), h('8')] }), STEPS);
    expect(r.layerAt).toBeNull();
    expect(r.differences[0]).toMatch(/^step a\/install\.d\/50-a has another key .* its inputs changed since the earlier build/);
  });

  it('names an output whose bytes differ, or that was not made again', () => {
    const other = manifest({ outputs: [{ ...manifest().outputs[0]!, sha256: 'f'.repeat(64) as Sha256Hex }] });
    expect(compareBuilds(manifest(), other, STEPS).differences).toEqual([`output x.tar: sha256 ${'0'.repeat(64)} then, ${'f'.repeat(64)} now`]);
    expect(compareBuilds(manifest(), manifest({ outputs: [] }), STEPS).differences).toEqual(['output x.tar was not made again (ask for the same -t as the earlier build)']);
  });

  it('compares keys and outputs only for a manifest that records no layer digests', () => {
    const { layers: _, ...old } = manifest();
    expect(compareBuilds(old as Manifest, manifest({ layers: [h('d'), h('e'), h('f')] }), STEPS)).toEqual({ differences: [], layerAt: null });
  });
});
