// Signed remote cache entries (issue 18): a builder signs each entry's
// descriptor when it pushes; a reader given trusted keys uses only entries
// one of them signed, and says why it refused the others. Through an OCI
// layout (the same RemoteCache code as a registry; a real registry is in
// test/integration/caching-store.root.test.ts).
import { generateKeyPairSync } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { sha256Buffer } from '../../../../src/cache/digest.js';
import { signEntry, trustProblem } from '../../../../src/cache/remote/entry-trust.js';
import { openRemoteCache, type RemoteCacheOptions } from '../../../../src/cache/remote/remote-cache.js';
import { LocalLayerStore } from '../../../../src/cache/store-local.js';
import { unwrap } from '../../../../src/failure.js';
import { cacheEntrySigner, cacheEntryTrust, keyId } from '../../../../src/manifest/sign.js';
import { scratchDir } from '../../../support/run-dir.js';
import { key } from '../store-conformance.js';

const builder = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const signer = unwrap(cacheEntrySigner(builder.privateKey));
const trustBuilder = cacheEntryTrust([stranger.publicKey, builder.publicKey]);
const trustStranger = cacheEntryTrust([stranger.publicKey]);

async function layoutWith(opts: RemoteCacheOptions): Promise<string> {
  const local = new LocalLayerStore(await scratchDir('trust-local'));
  await local.putLayer(key('base'), 'layer/base', Buffer.from('the base tree'), { image: 'img', step: 'distro/debian-bookworm' });
  await local.putLayer(key('tar'), 'output/tar', Buffer.from('the image'), { image: 'img', step: 'output/tar' });
  const ref = `oci:${await scratchDir('trust-layout')}`;
  const pushed = await unwrap(await openRemoteCache(ref, { ...opts, push: true })).push('img', [key('base'), key('tar')], local);
  expect(pushed.ok).toBe(true);
  return ref;
}

const reader = async (ref: string, trust?: ReturnType<typeof cacheEntryTrust>) => unwrap(await openRemoteCache(ref, { image: 'img', ...(trust ? { trust } : {}) }));

describe('signed remote cache entries', () => {
  it('a reader that trusts the builder takes its signed entries, byte for byte', async () => {
    const ref = await layoutWith({ signer });
    const remote = await reader(ref, trustBuilder);
    const found = unwrap(await remote.lookup(key('base')));
    expect(found?.signature?.keyId).toBe(keyId(builder.publicKey));
    const b = new LocalLayerStore(await scratchDir('trust-b'));
    const entry = unwrap(await remote.fetch(found!, b));
    expect((await buffer(await b.openLayer(entry))).toString()).toBe('the base tree');
    expect((await b.lookup(key('base'), 'layer/base'))?.metadata.step).toBe('distro/debian-bookworm');
  });

  it('a reader that trusts other keys refuses them and says whose signature it found', async () => {
    const ref = await layoutWith({ signer });
    const remote = await reader(ref, trustStranger);
    expect(unwrap(await remote.lookup(key('base')))).toBeNull();
    expect(remote.refusal(key('base'))).toEqual({
      key: key('base'),
      step: 'distro/debian-bookworm',
      why: `is signed by key ${keyId(builder.publicKey).slice(0, 16)}..., which is not among the trusted keys`,
    });
    const listed = unwrap(await remote.entriesOf('img'));
    expect(listed.entries).toEqual([]);
    expect(listed.refused.map((r) => r.key).sort()).toEqual([key('base'), key('tar')].sort());
  });

  it('with trusted keys an unsigned entry is refused; without, it is taken as before', async () => {
    const ref = await layoutWith({});
    const strict = await reader(ref, trustBuilder);
    expect(unwrap(await strict.lookup(key('tar')))).toBeNull();
    expect(strict.refusal(key('tar'))?.why).toBe('is not signed');
    expect(unwrap(await (await reader(ref)).lookup(key('tar')))?.kind).toBe('output/tar');
  });

  it('a signed entry re-pointed at another blob, or given another key or kind, no longer matches its signature', async () => {
    const entry = signEntry({ key: key('tar'), kind: 'output/tar', digest: sha256Buffer('the image'), size: 9, mediaType: 'application/octet-stream', metadata: { step: 'output/tar' } }, signer);
    expect(trustProblem(entry, trustBuilder)).toBeNull();
    const bad = `has a bad signature by key ${keyId(builder.publicKey).slice(0, 16)}...: the signature does not match the entry (the entry or the signature was changed)`;
    expect(trustProblem({ ...entry, digest: sha256Buffer('[]'), size: 2 }, trustBuilder)).toBe(bad);
    expect(trustProblem({ ...entry, key: key('base') }, trustBuilder)).toBe(bad);
    expect(trustProblem({ ...entry, kind: 'layer/base' }, trustBuilder)).toBe(bad);
    expect(trustProblem({ ...entry, metadata: { step: 'output/tar', md5: 'forged' } }, trustBuilder)).toBe(bad);
    expect(trustProblem({ ...entry, signature: { ...entry.signature!, signature: 'AAAA' } }, trustBuilder)).toBe(bad);
    expect(trustProblem(entry, undefined)).toBeNull();
  });
});
