import { describe, expect, it } from 'vitest';
import type { FileDigest, LayerKey } from '../../../../src/cache/digest.js';
import { sha256Buffer } from '../../../../src/cache/digest.js';
import { chainTag, decodeConfig, decodeManifest, encodeCache, imageTag, type RemoteEntry } from '../../../../src/cache/remote/cache-manifest.js';

const k = (s: string): LayerKey => sha256Buffer(s) as string as LayerKey;
const entry = (name: string, blob: string): RemoteEntry => ({ key: k(name), kind: 'layer/hook', digest: sha256Buffer(blob), size: blob.length, mediaType: 'm', metadata: { step: name } });

describe('cache manifests', () => {
  it('encode and decode round-trip; a blob shared by two keys is one layer', () => {
    const entries = [entry('a', 'blob-1'), entry('b', 'blob-2'), entry('c', 'blob-1')];
    const enc = encodeCache('img', k('c'), entries);
    expect(enc.configDigest).toBe(sha256Buffer(enc.config));
    const m = decodeManifest(enc.manifest)!;
    expect(m.configDigest).toBe(enc.configDigest);
    expect([...m.layers.keys()]).toEqual([sha256Buffer('blob-1'), sha256Buffer('blob-2')]);
    expect(decodeConfig(enc.config, m)).toEqual(entries);
  });

  it('is deterministic: the same entries give the same bytes', () => {
    const entries = [entry('a', 'x')];
    expect(encodeCache('img', k('a'), entries).manifest.equals(encodeCache('img', k('a'), entries).manifest)).toBe(true);
  });

  it('drops entries whose blob is not a layer of the manifest or whose size differs', () => {
    const good = entry('a', 'blob');
    const enc = encodeCache('img', null, [good]);
    const m = decodeManifest(enc.manifest)!;
    const forged = Buffer.from(
      JSON.stringify({ v: 'imgfactory.cache.v2', image: 'img', finalKey: null, entries: [good, { ...good, key: k('x'), digest: sha256Buffer('other') as FileDigest }, { ...good, key: k('y'), size: 99 }] }),
    );
    expect(decodeConfig(forged, m)).toEqual([good]);
  });

  it('drops entries without a kind or with a malformed signature, and reads no v1 config', () => {
    const good = entry('a', 'blob');
    const m = decodeManifest(encodeCache('img', null, [good]).manifest)!;
    const config = (v: string, entries: unknown[]): Buffer => Buffer.from(JSON.stringify({ v, image: 'img', finalKey: null, entries }));
    const { kind: _, ...kindless } = good;
    const badSig = { ...good, key: k('s'), signature: { v: 'imgfactory.sig.v1', algorithm: 'ed25519', keyId: 'not hex', signature: 'AAAA' } };
    expect(decodeConfig(config('imgfactory.cache.v2', [good, kindless, { ...good, kind: 'bogus' }, badSig]), m)).toEqual([good]);
    expect(decodeConfig(config('imgfactory.cache.v1', [good]), m)).toEqual([]);
  });

  it('is not fooled by other manifests', () => {
    expect(decodeManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Buffer('x'), size: 1 }, layers: [] })))).toBeNull();
    expect(decodeManifest(Buffer.from('not json'))).toBeNull();
  });

  it('makes valid tags from image names', () => {
    const tagRe = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
    for (const name of ['overcloud-control', 'a/b c', '.hidden', '-x', 'x'.repeat(300)]) {
      expect(imageTag(name)).toMatch(tagRe);
      expect(chainTag(name, k('z'))).toMatch(tagRe);
    }
    expect(chainTag('img', k('z'))).toBe(`img--${k('z').slice(7, 31)}`);
  });
});
