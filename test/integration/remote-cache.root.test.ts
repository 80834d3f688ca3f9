// Remote caches against the real thing: Debian's docker-registry
// (distribution 2.8) on 127.0.0.1 — anonymous over plain HTTP with
// --insecure-registry, and htpasswd over TLS with a throwaway CA — and an
// OCI image layout directory; then auth, down and stalled registries.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRemoteCache, type RemoteCacheOptions } from '../../src/cache/remote/remote-cache.js';
import { LocalLayerStore } from '../../src/cache/store-local.js';
import { startFaultyProxy } from '../support/faulty-proxy.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';
import { freePort, startRegistry, type TestRegistry } from '../support/registry.js';
import { scratchDir } from '../support/run-dir.js';
import { key, localWith, registerRemoteCacheTests } from './remote-cache-conformance.js';

const USER = { user: 'ci', password: 'pässword with spaces' };

async function flipByte(file: string): Promise<void> {
  const data = await readFile(file);
  const at = data.length >> 1;
  data[at] = data[at]! ^ 0xff;
  await writeFile(file, data);
}

const registryBlob = (r: TestRegistry, digest: string): string => {
  const hex = digest.slice(7);
  return path.join(r.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
};

let anonymous: TestRegistry;
let secured: TestRegistry;
let repo = 0;

beforeAll(async () => {
  anonymous = await startRegistry();
  secured = await startRegistry({ htpasswd: USER, tls: true });
});

afterAll(async () => {
  await anonymous?.stop();
  await secured?.stop();
});

registerRemoteCacheTests('registry, anonymous, plain HTTP on loopback', async () => {
  const ref = `registry://${anonymous.host}/cache/t${++repo}`;
  return {
    open: async (o: RemoteCacheOptions = {}) => unwrapOk(await openRemoteCache(ref, { insecure: true, credentials: null, ...o })),
    corrupt: (digest) => flipByte(registryBlob(anonymous, digest)),
  };
});

registerRemoteCacheTests('registry, htpasswd, TLS with a custom CA', async () => {
  const ref = `registry://${secured.host}/cache/t${++repo}`;
  return {
    open: async (o: RemoteCacheOptions = {}) =>
      unwrapOk(await openRemoteCache(ref, { caFiles: [secured.caFile!], credentials: { username: USER.user, password: USER.password }, ...o })),
    corrupt: (digest) => flipByte(registryBlob(secured, digest)),
  };
});

registerRemoteCacheTests('OCI image layout', async () => {
  const dir = await scratchDir('oci');
  return {
    open: async (o: RemoteCacheOptions = {}) => unwrapOk(await openRemoteCache(`oci:${dir}`, o)),
    corrupt: (digest) => flipByte(path.join(dir, 'blobs/sha256', digest.slice(7))),
  };
});

function unwrapOk<T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!r.ok) throw new Error(`open failed: ${JSON.stringify(r.error)}`);
  return r.value;
}

describe('registry auth, TLS and failures', () => {
  const pushOne = async (opts: RemoteCacheOptions, host = secured.host) => {
    const a = await localWith({ x: Buffer.from('x') });
    const remote = unwrapOk(await openRemoteCache(`registry://${host}/auth/t${++repo}`, { push: true, ...opts }));
    return remote.push('img', [key('x')], a);
  };

  it('refuses without credentials and with a wrong password (401, no secret in the message)', async () => {
    const none = await pushOne({ caFiles: [secured.caFile!], credentials: null });
    expect(none.ok).toBe(false);
    expect(!none.ok && none.error).toMatchObject({ reason: 'remote-cache', status: 401 });
    const wrong = await pushOne({ caFiles: [secured.caFile!], credentials: { username: 'ci', password: 'not-it' } });
    expect(!wrong.ok && wrong.error).toMatchObject({ reason: 'remote-cache', status: 401 });
    expect(JSON.stringify(wrong)).not.toContain('not-it');
  });

  it('reads credentials from REGISTRY_AUTH_FILE as podman writes it', async () => {
    const dir = await scratchDir('auth');
    const file = path.join(dir, 'auth.json');
    await writeFile(file, JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${USER.user}:${USER.password}`).toString('base64') } } }));
    const saved = { file: process.env.REGISTRY_AUTH_FILE, home: process.env.HOME };
    process.env.REGISTRY_AUTH_FILE = file;
    process.env.HOME = dir; // no ~/.docker of the machine running the tests
    try {
      const r = await pushOne({ caFiles: [secured.caFile!] });
      expect(r.ok).toBe(true);
    } finally {
      restore('REGISTRY_AUTH_FILE', saved.file);
      restore('HOME', saved.home);
    }
  });

  it('does not trust the registry certificate without its CA', async () => {
    const r = await pushOne({ credentials: { username: USER.user, password: USER.password } });
    expect(!r.ok && r.error).toMatchObject({ reason: 'remote-cache' });
    expect(!r.ok && r.error.reason === 'remote-cache' && r.error.message).toMatch(/certificate|self.signed|issuer/i);
  });

  it('allows plain HTTP only to loopback with --insecure-registry', async () => {
    const far = await openRemoteCache('registry://registry.example.com/cache', { insecure: true });
    expect(!far.ok && far.error).toMatchObject({ reason: 'usage' });
    // Without --insecure-registry the client speaks TLS to a plain-HTTP registry and fails.
    const plain = await pushOne({ credentials: null, attempts: 1 }, anonymous.host);
    expect(plain.ok).toBe(false);
  });

  it('a registry that is down is a remote-cache failure, not a hang', async () => {
    const port = await freePort();
    const remote = unwrapOk(await openRemoteCache(`registry://127.0.0.1:${port}/cache`, { insecure: true, attempts: 2 }));
    const r = await remote.lookup(key('x'));
    expect(!r.ok && r.error).toMatchObject({ reason: 'remote-cache' });
    expect(!r.ok && r.error.reason === 'remote-cache' && r.error.message).toMatch(/ECONNREFUSED/);
  });

  it('a registry that accepts connections but never answers times out', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const remote = unwrapOk(await openRemoteCache(`registry://127.0.0.1:${port}/cache`, { insecure: true, attempts: 2, idleTimeoutMs: 300 }));
      const r = await remote.lookup(key('x'));
      expect(!r.ok && r.error.reason === 'remote-cache' && r.error.message).toMatch(/no answer/);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

describe('interrupted and failing requests', () => {
  const roundTrip = async (proxyHost: string, chunkSize?: number) => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const a = await localWith({ big }, 'flaky');
    const ref = `registry://${proxyHost}/flaky/t${++repo}`;
    const pusher = unwrapOk(await openRemoteCache(ref, { insecure: true, credentials: null, push: true, ...(chunkSize ? { chunkSize } : {}) }));
    const pushed = await pusher.push('flaky', [key('big')], a);
    const reader = unwrapOk(await openRemoteCache(`registry://${anonymous.host}/flaky/t${repo}`, { insecure: true, credentials: null, image: 'flaky' }));
    const found = await reader.lookup(key('big'));
    const b = new LocalLayerStore(await scratchDir('local-b'));
    const fetched = found.ok && found.value ? await reader.fetch(found.value, b) : null;
    const back = fetched?.ok ? await buffer(await b.openLayer(fetched.value)) : null;
    return { pushed, pusher, same: back?.equals(big) ?? false };
  };

  it('a chunked upload cut in the middle resumes where the registry got to', async () => {
    let patches = 0;
    const proxy = await startFaultyProxy(anonymous, (method) => (method === 'PATCH' && ++patches === 2 ? 'cut' : null));
    try {
      const r = await roundTrip(proxy.host, 1024 * 1024);
      expect(r.pushed.ok).toBe(true);
      expect(r.same).toBe(true);
      expect(r.pusher.stats.resumedUploads).toBe(1);
      // After the cut: ask the upload session where it is, then go on with PATCHes (no new POST).
      const uploads = proxy.seen.filter((s) => s.includes('/blobs/uploads/'));
      expect(uploads.filter((s) => s.startsWith('POST')).length).toBe(2); // the big blob and the config
      expect(uploads).toContain(uploads.find((s) => s.startsWith('GET')));
      expect(uploads.filter((s) => s.startsWith('PATCH')).length).toBe(5); // 4 chunks, one sent twice
    } finally {
      await proxy.stop();
    }
  });

  it('a monolithic upload answered 503 starts over and succeeds', async () => {
    let puts = 0;
    const proxy = await startFaultyProxy(anonymous, (method, p) => (method === 'PUT' && p.includes('/blobs/uploads/') && ++puts === 1 ? 'unavailable' : null));
    try {
      const r = await roundTrip(proxy.host);
      expect(r.pushed.ok).toBe(true);
      expect(r.same).toBe(true);
      expect(proxy.seen.filter((s) => s.startsWith('POST')).length).toBe(3); // big twice, config once
    } finally {
      await proxy.stop();
    }
  });

  it('a registry answering 503 every time is a remote-cache failure after the retries', async () => {
    const proxy = await startFaultyProxy(anonymous, () => 'unavailable');
    try {
      const remote = unwrapOk(await openRemoteCache(`registry://${proxy.host}/x`, { insecure: true, credentials: null, attempts: 3 }));
      const r = await remote.lookup(key('x'));
      expect(!r.ok && r.error).toMatchObject({ reason: 'remote-cache', status: 503 });
      expect(proxy.seen.length).toBe(3);
    } finally {
      await proxy.stop();
    }
  });
});

describe('bearer tokens (the distribution token flow)', () => {
  let tokens: TokenServer;
  let bearer: TestRegistry;
  beforeAll(async () => {
    tokens = await startTokenServer('ci', 'token-secret');
    bearer = await startRegistry({ token: tokens });
  });
  afterAll(async () => {
    await bearer?.stop();
    await tokens?.stop();
  });

  it('gets a token for the repository scope with the credentials, and pushes and pulls with it', async () => {
    const ref = `registry://${bearer.host}/team/cache`;
    const a = await localWith({ t1: randomBytes(2000) }, 'tok');
    const pusher = unwrapOk(await openRemoteCache(ref, { insecure: true, push: true, credentials: { username: 'ci', password: 'token-secret' } }));
    const pushed = await pusher.push('tok', [key('t1')], a);
    expect(pushed.ok).toBe(true);
    const asked = tokens.requests.filter((r) => r.authorized);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked[0]!.params.get('service')).toBe(tokens.service);
    expect(asked[0]!.params.getAll('scope')).toEqual(['repository:team/cache:pull,push']);

    const reader = unwrapOk(await openRemoteCache(ref, { insecure: true, image: 'tok', credentials: { username: 'ci', password: 'token-secret' } }));
    const found = await reader.lookup(key('t1'));
    const b = new LocalLayerStore(await scratchDir('local-b'));
    const got = found.ok && found.value ? await reader.fetch(found.value, b) : null;
    expect(got?.ok).toBe(true);
  });

  it('an anonymous token without access is refused (401)', async () => {
    const remote = unwrapOk(await openRemoteCache(`registry://${bearer.host}/team/cache`, { insecure: true, credentials: null }));
    const r = await remote.lookup(key('t1'));
    expect(!r.ok && r.error).toMatchObject({ reason: 'remote-cache', status: 401 });
  });
});
