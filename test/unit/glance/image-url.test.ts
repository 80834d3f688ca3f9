// The --image-url template and the check that a URL serves the output's
// size, against a real HTTP server on loopback.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hideQuery, probeServedOutput, servedUrls, shownUrl } from '../../../src/glance/image-url.js';
import type { ManifestOutput } from '../../../src/manifest/manifest.js';
import { closedPort, startReleaseServer, type ReleaseServer } from '../../support/release-server.js';

const output = (name: string, size: number): ManifestOutput => ({ name, format: name.endsWith('.raw') ? 'raw' : 'qcow2', size, virtualSize: size, sha256: '' as never, sha512: '' as never, md5: '' as never });
const qcow2 = output('web v7.qcow2', 10);
const raw = output('web-v7.raw', 20);

describe('servedUrls', () => {
  it('puts each output file name, percent-encoded, where {name} is', () => {
    const r = servedUrls('https://releases.example/web/{name}?sig=x', [qcow2, raw]);
    expect(r.ok && [...r.value]).toEqual([
      ['web v7.qcow2', 'https://releases.example/web/web%20v7.qcow2?sig=x'],
      ['web-v7.raw', 'https://releases.example/web/web-v7.raw?sig=x'],
    ]);
  });

  it('takes a URL without {name} for one output, refuses it for two', () => {
    const one = servedUrls('https://releases.example/web.qcow2', [qcow2]);
    expect(one.ok && [...one.value]).toEqual([['web v7.qcow2', 'https://releases.example/web.qcow2']]);
    const two = servedUrls('https://releases.example/web.qcow2?sig=secret', [qcow2, raw]);
    expect(!two.ok && two.error).toMatchObject({ reason: 'usage', message: expect.stringMatching(/2 outputs \(web v7.qcow2, web-v7.raw\)/), hint: expect.stringContaining('{name}') });
    expect(JSON.stringify(two)).not.toContain('secret');
  });

  it('refuses an unknown field, a non-URL and a scheme Glance does not fetch', () => {
    expect(servedUrls('https://h/{image}', [qcow2])).toMatchObject({ ok: false, error: { reason: 'usage', message: expect.stringContaining('unknown field {image}') } });
    expect(servedUrls('releases/{name}', [qcow2])).toMatchObject({ ok: false, error: { message: expect.stringContaining('not a URL') } });
    expect(servedUrls('ftp://h/{name}', [qcow2])).toMatchObject({ ok: false, error: { message: expect.stringContaining('ftp: URL') } });
  });
});

describe('shownUrl', () => {
  it('drops user info, query and fragment: they may carry a credential', () => {
    expect(shownUrl('https://u:pw@h:8080/a/b.qcow2?temp_url_sig=s&x=1#f')).toBe('https://h:8080/a/b.qcow2');
  });
});

describe('hideQuery', () => {
  it('shows the URL without its query wherever a message echoes it, HTML-escaped or not', () => {
    const url = 'http://10.0.0.1:8080/a.qcow2?temp_url_sig=s3cret&temp_url_expires=9';
    const glance = 'URI for web-download does not pass filtering: http://10.0.0.1:8080/a.qcow2?temp_url_sig=s3cret&amp;temp_url_expires=9<br />';
    expect(hideQuery(glance, url)).toBe('URI for web-download does not pass filtering: http://10.0.0.1:8080/a.qcow2<br />');
    expect(hideQuery(`"fetching ${url}"`, url)).toBe('"fetching http://10.0.0.1:8080/a.qcow2"');
  });
});

describe('probeServedOutput', () => {
  let server: ReleaseServer;
  beforeAll(async () => {
    server = await startReleaseServer();
  });
  afterAll(() => server.stop());

  it('passes when the URL serves the output size, also through a redirect', async () => {
    server.files.set('/web.qcow2', Buffer.alloc(10, 1));
    server.files.set('/old.qcow2', { redirect: `${server.url}/web.qcow2` });
    expect(await probeServedOutput(`${server.url}/web.qcow2`, qcow2)).toEqual({ ok: true, value: undefined });
    expect(await probeServedOutput(`${server.url}/old.qcow2`, qcow2)).toEqual({ ok: true, value: undefined });
  });

  it('refuses another size, an HTTP error and an unreachable server, naming the output', async () => {
    server.files.set('/short.qcow2', Buffer.alloc(9, 1));
    expect(await probeServedOutput(`${server.url}/short.qcow2?sig=secret`, qcow2)).toEqual({
      ok: false,
      error: { reason: 'image-url-refused', url: `${server.url}/short.qcow2`, output: 'web v7.qcow2', problem: "it serves 9 bytes, the manifest's web v7.qcow2 has 10" },
    });
    expect(await probeServedOutput(`${server.url}/missing.qcow2`, qcow2)).toMatchObject({ ok: false, error: { problem: 'it answers HTTP 404' } });
    const port = await closedPort();
    expect(await probeServedOutput(`http://127.0.0.1:${port}/web.qcow2`, qcow2)).toMatchObject({ ok: false, error: { problem: 'it cannot be reached (ECONNREFUSED)' } });
  });

  it('asks with a one-byte ranged GET when HEAD is refused (a URL signed for GET only), reading the size from Content-Range', async () => {
    const asked: string[] = [];
    const presigned = http.createServer((req, res) => {
      asked.push(`${req.method} ${req.headers.range ?? ''}`);
      if (req.method === 'HEAD') return res.writeHead(403, { connection: 'close' }).end();
      res.writeHead(206, { 'content-range': 'bytes 0-0/10', 'content-length': '1', connection: 'close' }).end('x');
    });
    await new Promise<void>((r) => presigned.listen(0, '127.0.0.1', r));
    try {
      const { port } = presigned.address() as net.AddressInfo;
      expect(await probeServedOutput(`http://127.0.0.1:${port}/web.qcow2?X-Amz-Signature=s`, qcow2)).toEqual({ ok: true, value: undefined });
      expect(asked).toEqual(['HEAD ', 'GET bytes=0-0']);
    } finally {
      await new Promise<void>((r) => presigned.close(() => r()));
    }
  });
});
