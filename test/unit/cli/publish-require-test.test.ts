// `publish --require-test` refuses, before any request leaves the machine, a
// manifest without a passing, signed test of itself; with one, it goes on to
// the cloud (here a stand-in Keystone that counts requests and answers 401).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { unwrap } from '../../../src/failure.js';
import { writeManifest } from '../../../src/manifest/build-manifest.js';
import { signManifest } from '../../../src/manifest/sign.js';
import { testAddendumFile, writeTestAddendum } from '../../../src/manifest/test-addendum.js';
import { hashFile } from '../../../src/util/hash-file.js';
import { captureOutput } from '../../support/capture-output.js';
import { keyFiles, passingAddendum, smallManifest } from '../../support/test-addendum-fixture.js';

describe('publish --require-test', () => {
  let dir: string;
  let manifestFile: string;
  let keys: Awaited<ReturnType<typeof keyFiles>>;
  let server: http.Server;
  let requests = 0;
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imgfactory-require-test-'));
    await writeFile(path.join(dir, 'sb.qcow2'), 'not really a disk, but hashed like one');
    const h = await hashFile(path.join(dir, 'sb.qcow2'));
    const manifest = smallManifest('sb', { size: h.size, sha256: h.sha256, sha512: h.sha512, md5: h.md5 });
    manifestFile = (await writeManifest(manifest, dir)).manifest;
    keys = await keyFiles(dir);
    unwrap(await signManifest(manifestFile, keys.signKey));
    unwrap(await writeTestAddendum(manifestFile, { ...passingAddendum(manifest, 'sb.manifest.json'), result: 'fail' }, keys.signKey));
    server = http.createServer((_req, res) => {
      requests += 1;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":401,"message":"no"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    delete process.env.OS_CLOUD;
    Object.assign(process.env, {
      OS_AUTH_URL: `http://127.0.0.1:${port}/v3`,
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_APPLICATION_CREDENTIAL_ID: 'id',
      OS_APPLICATION_CREDENTIAL_SECRET: 'secret',
      OS_CLIENT_CONFIG_FILE: path.join(dir, 'no-clouds.yaml'),
      HOME: dir,
    });
  });
  afterEach(() => {
    requests = 0;
  });
  afterAll(async () => {
    process.env = saved;
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const publish = async (): Promise<{ code: number; stderr: string }> => {
    const out = captureOutput();
    const code = await main(['publish', manifestFile, '--require-test', '--verify-key', keys.verifyKey], out);
    return { code, stderr: out.stderr.join('\n') };
  };

  it('refuses a failed test with exit 4 and sends nothing', async () => {
    const r = await publish();
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/refusing to publish .*sb\.manifest\.json: the last test of this manifest failed/);
    expect(r.stderr).toMatch(/nothing was uploaded/);
    expect(requests).toBe(0);
  });

  it('refuses an untested manifest and sends nothing', async () => {
    await rm(testAddendumFile(manifestFile));
    const r = await publish();
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/no test addendum \(sb\.manifest\.test\.json\)/);
    expect(requests).toBe(0);
  });

  it('with a passing, signed test, goes on to the cloud', async () => {
    const manifest = smallManifest('sb', await hashFile(path.join(dir, 'sb.qcow2')));
    unwrap(await writeTestAddendum(manifestFile, passingAddendum(manifest, 'sb.manifest.json'), keys.signKey));
    const r = await publish();
    expect(r.stderr).not.toMatch(/refusing/);
    expect(requests).toBeGreaterThan(0);
  });
});
