import { cp, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestTree, sha256Buffer, type FileDigest, type LayerKey } from '../../../src/cache/digest.js';
import { installedPackagesKey, layerKey, outputFileKey, outputKey, type StepKeyFields } from '../../../src/cache/keys.js';
import { scratchDir } from '../../support/run-dir.js';

/** An archive state as keyed: bookworm and bookworm-security with made-up InRelease digests. */
const ARCHIVE = [
  { suite: 'bookworm', sha256: 'a'.repeat(64) },
  { suite: 'bookworm-security', sha256: 'c'.repeat(64) },
];
const PARENT = 'sha256:1111111111111111111111111111111111111111111111111111111111111111' as LayerKey;

/** A fixture step: install.d/50-foo of element 'foo' on Debian bookworm. */
function fixture(): StepKeyFields {
  return {
    parent: PARENT,
    phase: 'install.d',
    script: 'foo/install.d/50-foo',
    scriptDigest: sha256Buffer('#!/bin/bash\napt-get install -y foo\n'),
    elementDigest: sha256Buffer('element foo'),
    env: { DIB_RELEASE: 'bookworm', DIB_FOO: 'yes' },
    environmentD: sha256Buffer('export DIB_FOO=yes\n'),
    packages: { foo: { phase: 'install.d' } },
    distro: 'debian',
    release: 'bookworm',
    arch: 'amd64',
    sourceDateEpoch: 1700000000,
  };
}

// The golden keys below were computed outside this code: sha256sum over the
// canonical JSON written out by hand (keys sorted, tag "imgfactory.layer.v3",
// unset optional fields absent). If one changes, the meaning of keys changed:
// bump LAYER_KEY_TAG in src/cache/format.ts.
describe('layerKey', () => {
  it('gives the golden key for the fixture step', () => {
    expect(layerKey(fixture())).toBe('sha256:903d65d8429ec348860ca90df4da9d1a07df6627afa48fd33eff06dded36f2d8');
  });

  it('gives the golden key for a first step with every optional field unset', () => {
    const base: StepKeyFields = {
      ...fixture(),
      parent: null,
      phase: 'base',
      script: 'distro/debian',
      elementDigest: null,
      environmentD: null,
      packages: null,
      sourceDateEpoch: null,
    };
    expect(layerKey(base)).toBe('sha256:dc2b5ea46275969c24a182ba78af1ced8ff65588f8c8a7c6111a52865b9dda9b');
  });

  const mutations: [keyof StepKeyFields, unknown][] = [
    ['parent', null],
    ['parent', 'sha256:2222222222222222222222222222222222222222222222222222222222222222'],
    ['parentLayer', 'sha256:3333333333333333333333333333333333333333333333333333333333333333'],
    ['phase', 'post-install.d'],
    ['script', 'foo/install.d/51-foo'],
    ['scriptDigest', sha256Buffer('#!/bin/bash\napt-get install -y bar\n')],
    ['elementDigest', null],
    ['elementDigest', sha256Buffer('element foo, edited')],
    ['env', { DIB_RELEASE: 'bookworm', DIB_FOO: 'no' }],
    ['env', { DIB_RELEASE: 'bookworm', DIB_FOO: 'yes', DIB_BAR: '1' }],
    ['env', { DIB_RELEASE: 'bookworm' }],
    ['environmentD', null],
    ['environmentD', sha256Buffer('export DIB_FOO=no\n')],
    ['packages', null],
    ['packages', { foo: { phase: 'install.d' }, bar: { phase: 'install.d' } }],
    ['distro', 'ubuntu'],
    ['release', 'trixie'],
    ['arch', 'arm64'],
    ['sourceDateEpoch', null],
    ['sourceDateEpoch', 1700000001],
    ['secrets', [{ id: 'api-token', exported: false }]],
    ['secrets', [{ id: 'DIB_API_PASSWORD', exported: true }]],
    ['hostResult', sha256Buffer('the layer a hook made from the host')],
    ['archive', ARCHIVE],
    ['volatile', ['etc/ssh/ssh_host_*']],
    ['volatileFree', ['etc/ssh/ssh_host_*']],
    ['volatileHeld', ['etc/ssh/ssh_host_*']],
    ['volatileRecord', true],
  ];
  it('changes a held key when the list it was tested against changes, and refuses that list alone', () => {
    const held = { ...fixture(), volatileHeld: ['etc/ssh/ssh_host_*'], volatile: ['etc/ssh/ssh_host_*'] };
    expect(layerKey({ ...held, volatileTested: ['etc/ssh/ssh_host_*', 'var/lib/mysql/*'] })).not.toBe(layerKey({ ...held, volatileTested: ['etc/ssh/ssh_host_*'] }));
    expect(() => layerKey({ ...fixture(), volatileTested: ['etc/ssh/ssh_host_*'] })).toThrow(TypeError);
  });
  it.each(mutations)('changes when %s becomes %j', (field, value) => {
    expect(layerKey({ ...fixture(), [field]: value })).not.toBe(layerKey(fixture()));
  });

  it('gives the golden key for a step offered secrets, and the same key as without when offered none', () => {
    expect(layerKey({ ...fixture(), secrets: [{ id: 'api-token', exported: false }] })).toBe('sha256:94080c4838736e64431a1681ae705bd36288328b777e3c597f5cea659511576f');
    expect(layerKey({ ...fixture(), secrets: [] })).toBe(layerKey(fixture()));
    expect(layerKey({ ...fixture(), secrets: null })).toBe(layerKey(fixture()));
  });

  it('gives the same key as before volatile paths existed when there are none, and another with them', () => {
    expect(layerKey({ ...fixture(), volatile: null })).toBe(layerKey(fixture()));
    expect(layerKey({ ...fixture(), volatile: [] })).toBe(layerKey(fixture()));
    expect(layerKey({ ...fixture(), volatile: ['var/lib/mysql/*'] })).not.toBe(layerKey({ ...fixture(), volatile: ['etc/ssh/ssh_host_*'] }));
  });

  it('keys a layer that held no volatile path apart from one the same paths were removed from, and refuses both at once', () => {
    expect(layerKey({ ...fixture(), volatileFree: [] })).toBe(layerKey(fixture()));
    expect(layerKey({ ...fixture(), volatileFree: ['var/lib/mysql/*'] })).toBe('sha256:7bce4fe17569d2e6118bf4d873895153c6de1943dd90870ae5962f3d5839aa5e');
    expect(layerKey({ ...fixture(), volatileFree: ['var/lib/mysql/*'] })).not.toBe(layerKey({ ...fixture(), volatile: ['var/lib/mysql/*'] }));
    expect(() => layerKey({ ...fixture(), volatile: ['var/lib/mysql/*'], volatileFree: ['var/lib/mysql/*'] })).toThrow(TypeError);
  });

  it('keys a layer by the volatile paths its change held and the image removed, and refuses what cannot be', () => {
    const held = { ...fixture(), volatileHeld: ['etc/ssh/ssh_host_*'] };
    expect(layerKey({ ...held, volatile: ['etc/ssh/ssh_host_*'] })).toBe('sha256:04354626a21c7d9ef416cdfc73ea78fe8872d0c803bdaf01c42e9e099eede4bd');
    expect(layerKey({ ...held, volatileHeld: [] })).toBe(layerKey(fixture()));
    // Held but kept (the image does not declare it) is another layer than held and removed.
    expect(layerKey(held)).not.toBe(layerKey({ ...held, volatile: ['etc/ssh/ssh_host_*'] }));
    // Paths the image declares that matched nothing are not in the key: that is what lets images share it.
    expect(layerKey({ ...fixture(), volatileHeld: ['etc/ssh/ssh_host_*', 'var/lib/mysql/*'], volatile: ['etc/ssh/ssh_host_*'] })).not.toBe(layerKey({ ...held, volatile: ['etc/ssh/ssh_host_*'] }));
    expect(() => layerKey({ ...held, volatile: ['var/lib/mysql/*'] })).toThrow(TypeError);
    expect(() => layerKey({ ...held, volatileFree: ['etc/ssh/ssh_host_*'] })).toThrow(TypeError);
    expect(layerKey({ ...fixture(), volatileFree: ['etc/ssh/ssh_host_*'], volatileRecord: true })).toBe('sha256:1ffb6d9937e14886c56ed63e59c766e31c77ca4fbbf81c11513f03d12d48c644');
    expect(layerKey({ ...fixture(), volatileRecord: false })).toBe(layerKey(fixture()));
  });

  it('gives the same key as before hostResult existed when it is not set', () => {
    expect(layerKey({ ...fixture(), hostResult: null })).toBe(layerKey(fixture()));
    expect(layerKey({ ...fixture(), hostResult: sha256Buffer('layer') })).toBe('sha256:d2d1072612c9929a74319ddabacaa85a87eb0b1ef62afa76e0eece3e26789c7d');
  });

  it('gives the golden key for a step keyed with the archive state, and the same key as before the field existed when it is not set', () => {
    expect(layerKey({ ...fixture(), archive: ARCHIVE })).toBe('sha256:41ca1b9ffe0ae79ab02693be2042550550cf227b87f088c70814cb49b40ecd73');
    expect(layerKey({ ...fixture(), archive: null })).toBe(layerKey(fixture()));
  });

  const archiveMutations: [string, { suite: string; sha256: string }[]][] = [
    ['a suite published', [ARCHIVE[0]!, { suite: 'bookworm-security', sha256: 'd'.repeat(64) }]],
    ['another suite', [{ suite: 'trixie', sha256: 'a'.repeat(64) }, ARCHIVE[1]!]],
    ['a suite fewer', ARCHIVE.slice(0, 1)],
    ['the digests swapped between suites', [{ suite: 'bookworm', sha256: 'c'.repeat(64) }, { suite: 'bookworm-security', sha256: 'a'.repeat(64) }]],
  ];
  it.each(archiveMutations)('changes with the archive state: %s', (_what, archive) => {
    expect(layerKey({ ...fixture(), archive })).not.toBe(layerKey({ ...fixture(), archive: ARCHIVE }));
  });

  it('keys the archive state by suite and digest only, whatever else is handed in (the URL, the date)', () => {
    const more = ARCHIVE.map((s) => ({ ...s, url: `http://mirror.example/debian/dists/${s.suite}/InRelease`, date: 'Sat, 11 Jul 2026 10:16:37 UTC' }));
    expect(layerKey({ ...fixture(), archive: more })).toBe(layerKey({ ...fixture(), archive: ARCHIVE }));
  });

  it('does not depend on the order of env variables or of package-installs keys', () => {
    const f = fixture();
    expect(layerKey({ ...f, env: { DIB_FOO: 'yes', DIB_RELEASE: 'bookworm' } })).toBe(layerKey(f));
    expect(layerKey({ ...f, packages: { foo: { phase: 'install.d' } } })).toBe(layerKey(f));
  });

  it('does not depend on the working directory', () => {
    const before = layerKey(fixture());
    const cwd = process.cwd();
    try {
      process.chdir('/tmp');
      expect(layerKey(fixture())).toBe(before);
    } finally {
      process.chdir(cwd);
    }
  });

  it('changes when two hooks of the element swap contents, not when the element moves', async () => {
    const root = path.join(await scratchDir('keys'), 'foo');
    await mkdir(path.join(root, 'install.d'), { recursive: true });
    await writeFile(path.join(root, 'install.d', '10-a'), 'echo a\n', { mode: 0o755 });
    await writeFile(path.join(root, 'install.d', '20-b'), 'echo b\n', { mode: 0o755 });
    const key = async (dir: string) => layerKey({ ...fixture(), elementDigest: await digestTree(dir) });

    const original = await key(root);
    const moved = path.join(await scratchDir('keys-elsewhere'), 'some', 'where', 'foo');
    await cp(root, moved, { recursive: true });
    expect(await key(moved)).toBe(original);

    await rename(path.join(root, 'install.d', '10-a'), path.join(root, 'install.d', 'x'));
    await rename(path.join(root, 'install.d', '20-b'), path.join(root, 'install.d', '10-a'));
    await rename(path.join(root, 'install.d', 'x'), path.join(root, 'install.d', '20-b'));
    expect(await key(root)).not.toBe(original);
  });

  it('refuses a bad sourceDateEpoch and values canonical JSON cannot hold', () => {
    expect(() => layerKey({ ...fixture(), sourceDateEpoch: -1 })).toThrow(/sourceDateEpoch/);
    expect(() => layerKey({ ...fixture(), sourceDateEpoch: 1.5 })).toThrow(/sourceDateEpoch/);
    expect(() => layerKey({ ...fixture(), packages: { x: undefined } })).toThrow(/undefined/);
  });

  it('chains: changing an early step changes every later key', () => {
    const first = layerKey({ ...fixture(), parent: null });
    const second = layerKey({ ...fixture(), parent: first, script: 'foo/install.d/60-next' });
    const firstEdited = layerKey({ ...fixture(), parent: null, env: { DIB_FOO: 'other' } });
    expect(layerKey({ ...fixture(), parent: firstEdited, script: 'foo/install.d/60-next' })).not.toBe(second);
  });
});

describe('outputKey', () => {
  const last = layerKey(fixture());
  it('gives the golden key and follows the last layer and the settings', () => {
    const settings = { formats: ['qcow2', 'raw'], size: '4G' };
    expect(outputKey(last, settings)).toBe('sha256:1a664da38e938cfd67116ea8d1ed1236df8cd7847c80e208f774f8a9380219e2');
    expect(outputKey(last, { size: '4G', formats: ['qcow2', 'raw'] })).toBe(outputKey(last, settings));
    expect(outputKey(last, { ...settings, size: '8G' })).not.toBe(outputKey(last, settings));
    expect(outputKey(PARENT, settings)).not.toBe(outputKey(last, settings));
    expect(outputKey(last, settings)).not.toBe(last);
  });
});

// Golden values computed with the key code before outputFileKey and
// installedPackagesKey existed (engine/outputs.ts keyFor, emit-manifest.ts
// packagesKey): existing caches must keep hitting.
describe('output file and installed-packages keys', () => {
  const lastKey = `sha256:${'1'.repeat(64)}` as LayerKey;
  const lastLayer = `sha256:${'2'.repeat(64)}` as FileDigest;
  const disk = { layout: `sha256:${'3'.repeat(64)}`, compress: true, imageSize: '8GiB', extraSize: null, epoch: 1700000000, blockDeviceHooks: {}, env: null };

  it('gives the keys builds have always used', () => {
    expect(outputFileKey({ lastKey, lastLayer, format: 'tar', kind: 'tree', disk })).toBe('sha256:48d4cdadbc4cca6fba626caf9ef4a6f6109f2fec4402b4441fabcc3ca77511ff');
    expect(outputFileKey({ lastKey, lastLayer, format: 'qcow2', kind: 'disk', disk })).toBe('sha256:b7b0a486e82615f7c142a5ce927e27ca13dd07c12d0e8deffcd4a5f70bdb183e');
    expect(outputFileKey({ lastKey, lastLayer, format: 'vpc', kind: 'disk', disk })).toBe('sha256:b99ae330eb8aa7cd4b337a53f7b3772117dc4efd2cb0d290462c6ecff23925fb');
    expect(installedPackagesKey(lastKey, lastLayer)).toBe('sha256:b467463c098e5bf44a891f5a05076acd98e5f058fb6d821960160dd8cc47ea13');
  });

  it('leaves the disk settings out of a tree archive key only', () => {
    const other = { ...disk, compress: false };
    expect(outputFileKey({ lastKey, lastLayer, format: 'tar', kind: 'tree', disk: other })).toBe(outputFileKey({ lastKey, lastLayer, format: 'tar', kind: 'tree', disk }));
    expect(outputFileKey({ lastKey, lastLayer, format: 'qcow2', kind: 'disk', disk: other })).not.toBe(outputFileKey({ lastKey, lastLayer, format: 'qcow2', kind: 'disk', disk }));
  });
});
