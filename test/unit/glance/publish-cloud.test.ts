// How each cloud's data goes up: web-download only where the cloud offers
// it, the image is unsigned and the cloud gets the served output as it is;
// otherwise the local file, with the reason in the report.
import { describe, expect, it } from 'vitest';
import type { CloudDisk } from '../../../src/glance/cloud-disk.js';
import type { GlanceImage } from '../../../src/glance/images.js';
import { chooseMethod, compareHashes, type PublishRun } from '../../../src/glance/publish-cloud.js';

const served = { imageUrls: new Map([['web.qcow2', 'https://rel/web.qcow2?sig=s']]) } as PublishRun;
const qcow2 = { format: 'qcow2', from: 'web.qcow2', converted: false } as CloudDisk;
const raw = { format: 'raw', from: 'web.qcow2', converted: true } as CloudDisk;
const both = ['glance-direct', 'web-download'];

describe('chooseMethod', () => {
  it('web-download with the whole URL when the cloud offers it and gets the served output, unsigned', () => {
    expect(chooseMethod(served, qcow2, false, both)).toEqual({ method: 'web-download', url: 'https://rel/web.qcow2?sig=s', notWebDownload: null });
  });

  it('falls back to glance-direct, else PUT, saying why: not offered, converted, signed', () => {
    expect(chooseMethod(served, qcow2, false, ['glance-direct'])).toEqual({ method: 'glance-direct', url: null, notWebDownload: 'the cloud does not offer it (import methods: glance-direct); uploaded the local file by glance-direct' });
    expect(chooseMethod(served, qcow2, false, [])).toMatchObject({ method: 'put', notWebDownload: 'the cloud does not offer it (import methods: none); uploaded the local file by PUT' });
    expect(chooseMethod(served, raw, false, both)).toMatchObject({ method: 'glance-direct', notWebDownload: expect.stringMatching(/^this cloud gets raw, converted from the served web.qcow2/) });
    expect(chooseMethod(served, qcow2, true, [])).toMatchObject({ method: 'put', notWebDownload: expect.stringMatching(/^the image is signed, and a signed image goes by PUT/) });
  });

  it('without --image-url: glance-direct where offered, else PUT, and nothing to explain', () => {
    const none = { imageUrls: null } as PublishRun;
    expect(chooseMethod(none, qcow2, false, both)).toEqual({ method: 'glance-direct', url: null, notWebDownload: null });
    expect(chooseMethod(none, qcow2, false, ['web-download'])).toEqual({ method: 'put', url: null, notWebDownload: null });
  });
});

describe('compareHashes', () => {
  const disk = { ...qcow2, md5: 'm', sha512: 's' } as CloudDisk;
  const image = (algo: string, value: string) => ({ id: 'i', checksum: 'm', os_hash_algo: algo, os_hash_value: value }) as GlanceImage;

  it('an upload whose Glance hashes with sha256 is checked by md5 alone; a web-download is not proven by it and fails', () => {
    expect(compareHashes(image('sha256', 'x'), disk, 'm.json', 'i', null)).toEqual({ ok: true, value: { md5: 'match', osHash: 'not sha512: not compared' } });
    expect(compareHashes(image('sha256', 'x'), disk, 'm.json', 'i', 'https://rel/web.qcow2?sig=s')).toMatchObject({
      ok: false,
      error: { reason: 'verify-failed', problems: [expect.stringMatching(/^web.qcow2 fetched by Glance from https:\/\/rel\/web.qcow2 in Glance image i: Glance hashes with sha256, not sha512: md5 alone cannot prove/)] },
    });
  });

  it('a web-download whose sha512 matches the manifest passes; another one fails naming both', () => {
    expect(compareHashes(image('sha512', 's'), disk, 'm.json', 'i', 'https://rel/web.qcow2')).toEqual({ ok: true, value: { md5: 'match', osHash: 'match' } });
    expect(compareHashes(image('sha512', 't'), disk, 'm.json', 'i', 'https://rel/web.qcow2')).toMatchObject({ ok: false, error: { problems: [expect.stringContaining("Glance os_hash_value (sha512) is t, the manifest's is s")] } });
  });
});
