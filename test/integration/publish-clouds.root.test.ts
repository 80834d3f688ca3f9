// Publishing to many clouds and retiring old images, against the real
// Keystone + Glance + Barbican of scripts/test-cloud, started once. Its two
// projects stand for two clouds: "raw-cloud" (project demo, image_format
// raw) and "qcow2-cloud" (project admin, image_format qcow2; as admin it
// also sees demo's images, so retention's owner filter is tested too). The
// test cloud has no Nova: retention says it could not check "in use"; one
// test puts a stand-in compute endpoint into the catalog to see retention
// keep what Nova says is in use.
import http from 'node:http';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCloud } from '../../src/glance/cloud-config.js';
import { listImages, type GlanceImage } from '../../src/glance/images.js';
import { authenticate } from '../../src/glance/keystone.js';
import { endpointFor } from '../../src/glance/catalog.js';
import { applyRetention } from '../../src/glance/retention.js';
import { startFaultyProxy } from '../support/faulty-proxy.js';
import { closedPort, startReleaseServer } from '../support/release-server.js';
import { imgfactory, startImgfactory } from '../support/imgfactory.js';
import { manifestFixture } from '../support/manifest-fixture.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';
import { stopTestCloud, testCloud } from '../support/test-cloud.js';

let env: Record<string, string>;
let glancePort: number;

/** A clouds.yaml entry from the test cloud's OS_* variables of one project. */
function cloudEntry(os: Record<string, string>, extra: Record<string, string>): string {
  const lines = [
    `    auth:`,
    `      auth_url: ${os.OS_AUTH_URL}`,
    `      username: ${os.OS_USERNAME}`,
    `      password: "${os.OS_PASSWORD}"`,
    `      project_name: ${os.OS_PROJECT_NAME}`,
    `      user_domain_name: Default`,
    `      project_domain_name: Default`,
    `    region_name: ${os.OS_REGION_NAME}`,
    ...Object.entries(extra).map(([k, v]) => `    ${k}: ${v}`),
  ];
  return lines.join('\n');
}

async function writeClouds(clouds: Record<string, string>): Promise<string> {
  const file = path.join(await scratchDir('clouds'), 'clouds.yaml');
  await writeFile(file, `clouds:\n${Object.entries(clouds).map(([n, e]) => `  ${n}:\n${e}`).join('\n')}\n`, { mode: 0o600 });
  return file;
}

let cloudsFile: string;
const demo = (): Record<string, string> => env;
let admin: Record<string, string>;

beforeAll(async () => {
  env = await testCloud('demo');
  admin = await testCloud('admin');
  glancePort = Number(process.env.IMGFACTORY_TEST_CLOUD_GLANCE_PORT ?? 19292);
  cloudsFile = await writeClouds({ 'raw-cloud': cloudEntry(demo(), { image_format: 'raw' }), 'qcow2-cloud': cloudEntry(admin, { image_format: 'qcow2' }) });
}, scaled(900_000));

afterAll(() => stopTestCloud());

/** The images of a series in one project's view, straight from Glance. */
async function series(who: Record<string, string>, image: string): Promise<GlanceImage[]> {
  const c = resolveCloud(undefined, who, '/nonexistent');
  if (!c.ok) throw new Error(JSON.stringify(c.error));
  const s = await authenticate(c.value);
  if (!s.ok) throw new Error(JSON.stringify(s.error));
  const r = await listImages(s.value, endpointFor(s.value.catalog, 'image', 'public')!, { tag: 'imgfactory', owner: s.value.projectId! });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value.filter((i) => i.imgfactory_image === image);
}

const run = (args: string[], extra: Record<string, string> = {}) => imgfactory(args, { OS_CLIENT_CONFIG_FILE: cloudsFile, ...extra });
const unique = (what: string): string => `${what}-${Date.now()}-${Math.floor(Math.random() * 1000)}`;

interface Report {
  ok: boolean;
  clouds: { cloud: string; ok: boolean; id: string; format: string; diskFormat: string; converted: boolean; uploadMethod: string; imageUrl: string | null; notWebDownload: string | null; checksum: string; osHashValue: string; checks: Record<string, string>; retention: { deleted: { id: string; why: string }[]; inUseCheck: string } }[];
}

describe('publish to many clouds', () => {
  it('one signed publish reaches both clouds: raw (converted from the qcow2) to one, qcow2 to the other, each checked (signed: by PUT)', async () => {
    const keysDir = await scratchDir('keys');
    expect((await imgfactory(['keygen', '--out', keysDir, '--name', 'k', '--type', 'ec-p384'])).exitCode).toBe(0);
    const image = unique('two');
    const f = await manifestFixture(4, { image, tag: 'v1' }, ['qcow2']);
    const r = await run(['publish', f.manifestFile, '--os-cloud', 'raw-cloud,qcow2-cloud', '--key', path.join(keysDir, 'k.key.pem'), '--certificate', path.join(keysDir, 'k.cert.pem'), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    const q = f.manifest.outputs.find((o) => o.format === 'qcow2')!;
    const { hashFile } = await import('../../src/util/hash-file.js');
    const raw = await hashFile(f.raw); // qemu-img makes the raw conversion byte for byte the fixture's raw disk
    expect(report.ok).toBe(true);
    expect(report.clouds.map((c) => [c.cloud, c.diskFormat, c.converted, c.uploadMethod, c.checksum, c.osHashValue, c.checks.signature])).toEqual([
      ['raw-cloud', 'raw', true, 'put', raw.md5, raw.sha512, 'verified by Glance'],
      ['qcow2-cloud', 'qcow2', false, 'put', q.md5, q.sha512, 'verified by Glance'],
    ]);
    const [inRaw] = await series(demo(), image);
    const [inQcow2] = await series(admin, image);
    expect(inRaw).toMatchObject({ id: report.clouds[0]!.id, name: `${image}-v1`, status: 'active', disk_format: 'raw', os_hash_value: raw.sha512, os_distro: 'debian', img_signature_key_type: 'ECC_SECP384R1' });
    expect(inQcow2).toMatchObject({ id: report.clouds[1]!.id, status: 'active', disk_format: 'qcow2', os_hash_value: q.sha512 });
    expect(inRaw!.tags).toEqual(expect.arrayContaining(['imgfactory', expect.stringMatching(/^imgfactory-manifest:sha256:[0-9a-f]{64}$/)]));
    expect(r.stderr).not.toContain(demo().OS_PASSWORD!);
  });

  it('a cloud that fails does not stop the other; the report and the exit code say which', async () => {
    const image = unique('half');
    const f = await manifestFixture(2, { image, tag: 'v1' });
    const broken = await writeClouds({
      'raw-cloud': cloudEntry(demo(), { image_format: 'raw' }),
      'no-glance': cloudEntry(demo(), { image_format: 'qcow2', image_endpoint_override: 'http://127.0.0.1:9/' }),
    });
    const report = path.join(await scratchDir('report'), 'report.json');
    const r = await imgfactory(['publish', f.manifestFile, '--os-cloud', 'no-glance', '--os-cloud', 'raw-cloud', '--report', report], { OS_CLIENT_CONFIG_FILE: broken });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/publish failed in 1 of 2 clouds \(no-glance\); done in raw-cloud/);
    const doc = JSON.parse(await (await import('node:fs/promises')).readFile(report, 'utf8')) as Report;
    expect(doc.clouds.map((c) => [c.cloud, c.ok, c.uploadMethod])).toEqual([['no-glance', false, null], ['raw-cloud', true, 'glance-direct']]);
    expect((await series(demo(), image)).map((i) => [i.disk_format, i.status])).toEqual([['raw', 'active']]);
  });

  it('--keep 2 after three publishes leaves the newest two; prune --keep 1 the newest one; "in use" could not be checked and it says so', async () => {
    const image = unique('keep');
    const ids: string[] = [];
    for (const tag of ['v1', 'v2', 'v3']) {
      const f = await manifestFixture(1, { image, tag }, ['raw']);
      const r = await run(['publish', f.manifestFile, '--os-cloud', 'raw-cloud', '--keep', '2', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const c = (JSON.parse(r.stdout) as Report).clouds[0]!;
      expect([c.uploadMethod, c.checks]).toEqual(['glance-direct', { md5: 'match', osHash: 'match', signature: 'unsigned' }]);
      ids.push(c.id);
      if (tag === 'v3') expect(r.stderr).toMatch(/raw-cloud: could not check whether the deleted images were in use: the catalog has no compute \(Nova\) endpoint/);
    }
    expect((await series(demo(), image)).map((i) => i.id).sort()).toEqual([ids[1], ids[2]].sort());
    const p = await run(['prune', '--os-cloud', 'raw-cloud', '--name', image, '--keep', '1', '--json']);
    expect(p.exitCode, p.stderr).toBe(0);
    expect((JSON.parse(p.stdout) as { clouds: Report['clouds'] }).clouds[0]!.retention).toMatchObject({ deleted: [{ id: ids[1], why: 'retired' }], inUseCheck: expect.stringMatching(/^none: /) });
    expect((await series(demo(), image)).map((i) => [i.id, i.name])).toEqual([[ids[2], `${image}-v3`]]);
  });

  it('an upload killed halfway leaves an image (and staged data) behind that the next prune removes', async () => {
    const proxy = await startFaultyProxy({ port: glancePort }, (method, p) => (method === 'PUT' && /\/(stage|file)$/.test(p) ? 'slow' : null));
    try {
      const slow = await writeClouds({ slow: cloudEntry(demo(), { image_format: 'raw', image_endpoint_override: `http://${proxy.host}` }), 'raw-cloud': cloudEntry(demo(), { image_format: 'raw' }) });
      const image = unique('killed');
      const f = await manifestFixture(4, { image, tag: 'v1' }, ['raw']);
      const child = startImgfactory(['publish', f.manifestFile, '--os-cloud', 'slow'], { OS_CLIENT_CONFIG_FILE: slow });
      while (proxy.bodyBytes < 256 * 1024) {
        if (child.exitCode !== null) throw new Error(`publish ended before the upload was half way: ${String((await child).all)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      await child;
      const leaked = await series(demo(), image);
      expect(leaked).toHaveLength(1);
      expect(leaked[0]!.status).not.toBe('active');
      // Unsigned: it went by glance-direct, so the half upload sits in Glance's staging area.
      const staged = path.join(process.env.IMGFACTORY_TEST_CLOUD_DIR ?? '/var/tmp/imgfactory-test-cloud', 'glance-work/staging', leaked[0]!.id);
      expect(existsSync(staged)).toBe(true);
      const p = await imgfactory(['prune', '--os-cloud', 'raw-cloud', '--name', image, '--keep', '1'], { OS_CLIENT_CONFIG_FILE: slow });
      expect(p.exitCode, p.stderr).toBe(0);
      expect(p.stderr).toContain(`raw-cloud: deleted leaked image ${leaked[0]!.id}`);
      expect(await series(demo(), image)).toEqual([]);
      expect(existsSync(staged)).toBe(false);
    } finally {
      await proxy.stop();
    }
  });

  it('retention never deletes an image Nova says a server uses, nor one Nova cannot answer for (a stand-in compute endpoint in the catalog)', async () => {
    const image = unique('inuse');
    const ids: string[] = [];
    for (const tag of ['v1', 'v2', 'v3']) {
      const f = await manifestFixture(1, { image, tag }, ['raw']);
      const r = await run(['publish', f.manifestFile, '--os-cloud', 'raw-cloud', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      ids.push((JSON.parse(r.stdout) as Report).clouds[0]!.id);
    }
    // Nova is not part of the test cloud: this server answers GET /servers?image= as Nova does.
    const asked: string[] = [];
    const nova = http.createServer((req, res) => {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('image') ?? '';
      asked.push(id);
      if (id === ids[1]) return res.writeHead(500, { 'content-type': 'application/json', connection: 'close' }).end('{"computeFault": {"message": "oops"}}');
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ servers: id === ids[0] ? [{ id: 'srv-1' }] : [] }));
    });
    await new Promise<void>((r) => nova.listen(0, '127.0.0.1', r));
    try {
      const c = resolveCloud('raw-cloud', { OS_CLIENT_CONFIG_FILE: cloudsFile }, '/nonexistent');
      const s = await authenticate(c.ok ? c.value : (null as never));
      if (!s.ok) throw new Error(JSON.stringify(s.error));
      const port = (nova.address() as net.AddressInfo).port;
      s.value.catalog.push({ type: 'compute', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: `http://127.0.0.1:${port}/v2.1` }] });
      const r = await applyRetention(s.value, endpointFor(s.value.catalog, 'image', 'public')!, image, { keep: 0, startedAt: new Date().toISOString() });
      expect(r.ok && r.value).toMatchObject({
        inUseCheck: 'nova',
        deleted: [{ id: ids[2], why: 'retired' }],
        skipped: [
          { id: ids[1], why: expect.stringMatching(/^Nova could not say whether it is in use: GET http:\/\/127.0.0.1:\d+\/v2.1\/servers: HTTP 500 oops/) },
          { id: ids[0], why: 'in use by server srv-1' },
        ],
      });
      expect(asked.sort()).toEqual([...ids].sort());
      expect((await series(demo(), image)).map((i) => i.id).sort()).toEqual([ids[0], ids[1]].sort());
    } finally {
      await new Promise<void>((r) => nova.close(() => r()));
    }
  });
});

describe('publish --image-url: Glance fetches the served output (web-download)', () => {
  it('the cloud that gets the served qcow2 fetches it, checked against the manifest; the cloud that needs raw gets a local conversion and says why', async () => {
    const server = await startReleaseServer();
    try {
      const image = unique('web');
      const f = await manifestFixture(2, { image, tag: 'v1' }, ['qcow2']);
      const q = f.manifest.outputs.find((o) => o.format === 'qcow2')!;
      server.files.set(`/rel/${q.name}`, await readFile(f.qcow2));
      const r = await run(['publish', f.manifestFile, '--os-cloud', 'qcow2-cloud,raw-cloud', '--image-url', `${server.url}/rel/{name}?token=secret`, '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const [inQcow2, inRaw] = (JSON.parse(r.stdout) as Report).clouds;
      expect(inQcow2).toMatchObject({ cloud: 'qcow2-cloud', ok: true, uploadMethod: 'web-download', imageUrl: `${server.url}/rel/${q.name}`, notWebDownload: null, checksum: q.md5, osHashValue: q.sha512, checks: { md5: 'match', osHash: 'match' } });
      expect(inRaw).toMatchObject({ cloud: 'raw-cloud', ok: true, uploadMethod: 'glance-direct', converted: true, imageUrl: null, notWebDownload: expect.stringMatching(/^this cloud gets raw, converted from the served tiny.qcow2; uploaded the local file by glance-direct$/) });
      expect(await series(admin, image)).toEqual(expect.arrayContaining([expect.objectContaining({ id: inQcow2!.id, status: 'active', disk_format: 'qcow2', checksum: q.md5, os_hash_value: q.sha512 })]));
      // Glance itself fetched it (our HEAD first), with the whole URL; reports and logs show it without the query.
      expect(server.seen.filter((p) => p === `/rel/${q.name}`).length).toBeGreaterThanOrEqual(2);
      expect(r.stdout + r.stderr).not.toContain('secret');
    } finally {
      await server.stop();
    }
  });

  it('a URL serving other bytes (of the same size): Glance reports other checksums, the image is deleted, exit 3', async () => {
    const server = await startReleaseServer();
    try {
      const image = unique('webbad');
      const f = await manifestFixture(1, { image, tag: 'v1' }, ['raw']);
      const o = f.manifest.outputs[0]!;
      server.files.set(`/${o.name}`, randomBytes(o.size));
      const r = await run(['publish', f.manifestFile, '--os-cloud', 'raw-cloud', '--image-url', `${server.url}/{name}`, '--json']);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`tiny.raw fetched by Glance from ${server.url}/tiny.raw in Glance image [0-9a-f-]+: Glance checksum \\(md5\\) is [0-9a-f]{32}, the manifest's is ${o.md5}`));
      const c = (JSON.parse(r.stdout) as Report).clouds[0]!;
      expect([c.uploadMethod, c.ok]).toEqual(['web-download', false]);
      expect(await series(demo(), image)).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('an import Glance cannot finish (the server answers our HEAD, not its GET) fails at once from the task, exit 4, image deleted, the query never shown', async () => {
    const image = unique('webfail');
    const f = await manifestFixture(1, { image, tag: 'v1' }, ['raw']);
    const o = f.manifest.outputs[0]!;
    const headOnly = http.createServer((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(200, { 'content-length': o.size, connection: 'close' }).end();
      res.writeHead(404, { connection: 'close' }).end('gone');
    });
    await new Promise<void>((r) => headOnly.listen(0, '127.0.0.1', r));
    try {
      const { port } = headOnly.address() as net.AddressInfo;
      const r = await run(['publish', f.manifestFile, '--os-cloud', 'raw-cloud', '--image-url', `http://127.0.0.1:${port}/{name}?sig=secret`]);
      expect(r.exitCode, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/publish failed at importing the image: the import of [0-9a-f-]+ failed/);
      expect(r.stderr).not.toContain('secret');
      expect(await series(demo(), image)).toEqual([]);
    } finally {
      await new Promise<void>((r) => headOnly.close(() => r()));
    }
  });

  it('an unreachable URL is refused before anything is created in any cloud (exit 2)', async () => {
    const image = unique('webdown');
    const f = await manifestFixture(1, { image, tag: 'v1' }, ['raw']);
    const url = `http://127.0.0.1:${await closedPort()}/{name}`;
    const r = await run(['publish', f.manifestFile, '--os-cloud', 'raw-cloud', '--image-url', url]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--image-url http:\/\/127.0.0.1:\d+\/tiny.raw does not serve tiny.raw: it cannot be reached \(ECONNREFUSED\); nothing was published and nothing was created in any cloud/);
    expect(r.stderr).not.toMatch(/authenticated|created image/);
    expect(await series(demo(), image)).toEqual([]);
  });
});
