// The local signing key: made once on first use, private and 0600, shared by
// builds that start together, and what verify uses only for signatures it made.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureLocalKey, localKey, localKeyDir, localKeyThatSigned } from '../../../src/manifest/local-key.js';
import { keygen } from '../../../src/manifest/keygen.js';
import { signManifest } from '../../../src/manifest/sign.js';
import { manifestFixture } from '../../support/manifest-fixture.js';
import { scratchDir } from '../../support/run-dir.js';

describe('local signing key', () => {
  it('lives in IMGFACTORY_CONFIG_DIR, else XDG_CONFIG_HOME/imgfactory, else ~/.config/imgfactory', () => {
    expect(localKeyDir({ IMGFACTORY_CONFIG_DIR: '/c', XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/c');
    expect(localKeyDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/imgfactory');
    expect(localKeyDir({ HOME: '/h' })).toBe('/h/.config/imgfactory');
  });

  it('is made once, private, and the same key for builds that ask at the same time', async () => {
    const env = { IMGFACTORY_CONFIG_DIR: await scratchDir('config') };
    expect(await localKey(env)).toBeNull();
    const made = await Promise.all([ensureLocalKey(env), ensureLocalKey(env), ensureLocalKey(env)]);
    const keys = made.map((r) => (r.ok ? r.value : null));
    expect(keys.filter((k) => k?.created)).toHaveLength(1);
    const first = keys[0]!;
    expect(new Set(keys.map((k) => k!.privateKey))).toEqual(new Set([first.privateKey]));
    expect((await stat(first.privateKey)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(first.privateKey))).mode & 0o777).toBe(0o700);
    const pem = await readFile(first.privateKey, 'utf8');
    const again = await ensureLocalKey(env);
    expect(again.ok && again.value.created).toBe(false);
    expect(await readFile(first.privateKey, 'utf8')).toBe(pem);
    expect(await localKey(env)).toMatchObject({ privateKey: first.privateKey, publicKey: first.publicKey });
  });

  it('is what verify checks with only when it made the signature', async () => {
    const env = { IMGFACTORY_CONFIG_DIR: await scratchDir('config') };
    const f = await manifestFixture(8);
    const sigFile = `${f.manifestFile}.sig`;
    const other = await keygen({ dir: await scratchDir('keys'), name: 'release', type: 'ec-p384', commonName: 'r', days: 1 });
    if (!other.ok) throw new Error(JSON.stringify(other.error));
    expect((await signManifest(f.manifestFile, other.value.privateKey)).ok).toBe(true);
    expect(await localKeyThatSigned(sigFile, env)).toBeNull(); // there is no local key yet
    const local = await ensureLocalKey(env);
    if (!local.ok) throw new Error(JSON.stringify(local.error));
    expect(await localKeyThatSigned(sigFile, env)).toBeNull(); // signed by another key
    expect((await signManifest(f.manifestFile, local.value.privateKey)).ok).toBe(true);
    expect(await localKeyThatSigned(sigFile, env)).toBe(local.value.publicKey);
  });
});
