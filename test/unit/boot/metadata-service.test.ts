// The metadata a booted node polls: the file as it is now, told where to
// poll; a file that stops parsing is refused without losing the node's.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeMetadata, readMetadata, serveMetadata } from '../../../src/boot/metadata-service.js';
import { scratchDir } from '../../support/run-dir.js';

async function file(content: string): Promise<string> {
  const f = path.join(await scratchDir('metadata'), 'node.json');
  await writeFile(f, content);
  return f;
}

describe('readMetadata', () => {
  it('takes a JSON object', async () => {
    expect(await readMetadata(await file('{"a": {"b": 1}}'))).toEqual({ ok: true, value: { a: { b: 1 } } });
  });

  it.each([
    ['not JSON', '{"a": ', /node\.json: not JSON: /],
    ['an array', '[1]', /node\.json: must be a JSON object .* not an array/],
    ['a string', '"x"', /node\.json: must be a JSON object .* not string/],
  ])('refuses %s, naming the file', async (_what, content, message) => {
    const r = await readMetadata(await file(content));
    expect(!r.ok && r.error).toMatchObject({ reason: 'usage', message: expect.stringMatching(message) });
  });

  it('names a file it cannot read', async () => {
    const r = await readMetadata('/nonexistent/node.json');
    expect(!r.ok && r.error).toMatchObject({ reason: 'usage', message: expect.stringMatching(/^--metadata \/nonexistent\/node\.json: ENOENT/) });
  });
});

describe('nodeMetadata', () => {
  it('tells os-collect-config to poll the URL, keeping the file\'s other os-collect-config settings', () => {
    expect(nodeMetadata({ a: 1, 'os-collect-config': { polling_interval: 5 } }, 'http://u')).toEqual({
      a: 1,
      'os-collect-config': { polling_interval: 5, request: { metadata_url: 'http://u' } },
    });
  });

  it('adds the request collector to a list of collectors the file gives', () => {
    expect(nodeMetadata({ 'os-collect-config': { collectors: ['ec2', 'local'] } }, 'http://u')).toEqual({
      'os-collect-config': { collectors: ['ec2', 'local', 'request'], request: { metadata_url: 'http://u' } },
    });
  });

  it('leaves a request source the file names itself', () => {
    const m = { 'os-collect-config': { request: { metadata_url: 'http://swift/tempurl' } } };
    expect(nodeMetadata(m, 'http://u')).toBe(m);
  });
});

describe('serveMetadata', () => {
  it('serves the file as it is at each request; a broken file is refused (503) until it parses again', async () => {
    const f = await file('{"keystone": {"admin_password": "one"}}');
    const logged: string[] = [];
    const service = await serveMetadata(f, (l) => logged.push(l));
    try {
      const url = `http://127.0.0.1:${service.port}/metadata.json`;
      expect(service.guestUrl).toBe(`http://10.0.2.2:${service.port}/metadata.json`);
      expect(await (await fetch(url)).json()).toEqual({ keystone: { admin_password: 'one' }, 'os-collect-config': { request: { metadata_url: service.guestUrl } } });
      await writeFile(f, '{"keystone": {"admin_password": "two"}}');
      expect(((await (await fetch(url)).json()) as { keystone: unknown }).keystone).toEqual({ admin_password: 'two' });
      await writeFile(f, '{"keystone": ');
      expect((await fetch(url)).status).toBe(503);
      expect((await fetch(url)).status).toBe(503);
      expect(logged).toEqual([expect.stringMatching(/^metadata not served \(the node keeps what it has\): --metadata .*node\.json: not JSON/)]);
      expect((await fetch(`http://127.0.0.1:${service.port}/other`)).status).toBe(404);
    } finally {
      await service.close();
    }
  });
});
