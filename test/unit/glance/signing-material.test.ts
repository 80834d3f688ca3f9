// Given signing material, publish signs or refuses, before it talks to any
// cloud: a certificate without the key that signs would otherwise be stored
// in Barbican and the image uploaded unsigned (issue 19). The cloud here is a
// recording HTTP server: any request it sees is the bug.
import http from 'node:http';
import type net from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../../../src/glance/publish.js';
import { keygen } from '../../../src/manifest/keygen.js';
import { unwrap } from '../../../src/failure.js';
import { manifestFixture, type ManifestFixture } from '../../support/manifest-fixture.js';
import { scratchDir } from '../../support/run-dir.js';

let server: http.Server;
const seen: string[] = [];
let clouds: string;
let f: ManifestFixture;
let keys: { privateKey: string; certificate: string };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json', connection: 'close' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const dir = await scratchDir('signing-material');
  clouds = path.join(dir, 'clouds.yaml');
  const auth = `{auth_url: "http://127.0.0.1:${port}/v3", username: u, password: p, user_domain_name: Default, project_name: x, project_domain_name: Default}`;
  await writeFile(clouds, `clouds:\n  recorder:\n    auth: ${auth}\n`);
  f = await manifestFixture(1);
  const k = unwrap(await keygen({ dir, name: 'k', type: 'ec-p384', commonName: 'test', days: 1 }));
  keys = { privateKey: k.privateKey, certificate: k.certificate! };
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function publishWith(o: { certificate?: string; certificateUuid?: string; signKey?: string }) {
  const before = process.env.OS_CLIENT_CONFIG_FILE;
  process.env.OS_CLIENT_CONFIG_FILE = clouds;
  seen.length = 0;
  try {
    return await publish({ manifest: f.manifestFile, cloud: 'recorder', ...o });
  } finally {
    if (before === undefined) delete process.env.OS_CLIENT_CONFIG_FILE;
    else process.env.OS_CLIENT_CONFIG_FILE = before;
  }
}

describe('publish with incomplete signing material', () => {
  it('a certificate without --key is refused before any request', async () => {
    const r = await publishWith({ certificate: keys.certificate });
    expect(r).toMatchObject({ ok: false, error: { reason: 'signing-incomplete', given: `--certificate ${keys.certificate}`, missing: '--key' } });
    expect(seen).toEqual([]);
  });

  it('a certificate UUID without --key is refused before any request', async () => {
    const r = await publishWith({ certificateUuid: '0b6f0f36-0a7e-4c3b-9d0e-3f3bd7a3e6f1' });
    expect(r).toMatchObject({ ok: false, error: { reason: 'signing-incomplete', missing: '--key' } });
    expect(seen).toEqual([]);
  });

  it('a key without a certificate is refused before any request', async () => {
    const r = await publishWith({ signKey: keys.privateKey });
    expect(r).toMatchObject({ ok: false, error: { reason: 'signing-incomplete', given: `--key ${keys.privateKey}`, missing: '--certificate or --certificate-uuid' } });
    expect(seen).toEqual([]);
  });

  it('without signing material it goes on to the cloud (the recorder refuses the login)', async () => {
    const r = await publishWith({});
    expect(r).toMatchObject({ ok: true, value: { ok: false, clouds: [{ cloud: 'recorder', ok: false, failure: { reason: 'publish-failed', status: 401 } }] } });
    expect(seen[0]).toBe('POST /v3/auth/tokens');
  });
});
