// keystone's `55-keystone-register` (issue 15): on the controller it makes
// every service's user, roles and endpoints right after Keystone restarts,
// when Keystone may still drop connections or answer 5xx. Run here as the
// element ships it, with the real os-metadata, python3-keystoneclient and a
// Keystone of its own (scripts/test-cloud with IMGFACTORY_TEST_CLOUD_ONLY)
// from the test tools tree, through a faulty proxy at the address the script
// insists on (keystone.host, port 5000) that is also the identity URL in
// that Keystone's catalog, so every request passes the proxy.
import { execa } from 'execa';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fault, type FaultyProxy, startFaultyProxy } from '../support/faulty-proxy.js';
import { freePort } from '../support/registry.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';
import { inTestTools } from '../support/test-tools.js';
import { TEST_CLOUD } from '../support/test-cloud.js';

const ELEMENTS = path.join(import.meta.dirname, '..', '..', 'elements');
const SCRIPT = 'keystone/os-refresh-config/post-configure.d/55-keystone-register';
/** A loopback address of this file's own: the proxy takes port 5000 there. */
const PROXY_HOST = '127.0.0.95';
/** The services of the controller's metadata, and the endpoints each gets. */
const SERVICES: Record<string, string[]> = {
  glance: ['glance'],
  nova: ['nova'],
  placement: ['placement'],
  neutron: ['neutron'],
  heat: ['heat', 'heat-cfn'],
  cinder: ['cinderv3'],
};

let dir = '';
let keystoneUrl = '';
let adminPassword = '';
let env: Record<string, string> = {};
let proxy: FaultyProxy | undefined;

const metadata = () => ({
  bootstrap_host: { nodeid: 'ctl0', bootstrap_nodeid: 'ctl0' },
  'admin-password': adminPassword,
  keystone: { host: PROXY_HOST },
  ...Object.fromEntries(Object.keys(SERVICES).map((s) => [s, { host: '192.0.2.10', 'service-password': `${s}-secret` }])),
  heat: { host: '192.0.2.10', 'service-password': 'heat-secret', stack_domain_admin_password: 'heat-domain-secret' },
});

/** Runs the script as os-refresh-config would, through a proxy that breaks the requests `fault` picks. */
async function register(fault: (method: string, path: string, n: number) => Fault) {
  const target = { port: Number(new URL(keystoneUrl).port) };
  proxy = await startFaultyProxy(target, fault, { host: PROXY_HOST, port: 5000 });
  try {
    const [file, args] = inTestTools('env', [
      `PATH=${path.join(dir, 'bin')}:/usr/sbin:/usr/bin:/sbin:/bin`,
      `OS_CONFIG_FILES=${path.join(dir, 'defaults.json')}:${path.join(dir, 'node.json')}`,
      'python3',
      path.join(dir, 'bin', '55-keystone-register'),
    ]);
    const run = await execa(file, args, { reject: false, timeout: scaled(120_000) });
    return { ...run, seen: [...proxy.seen] };
  } finally {
    await proxy.stop();
    proxy = undefined;
  }
}

/** GET `what` from Keystone directly (not through the proxy), as admin. */
async function list<T>(what: string, query = ''): Promise<T[]> {
  const auth = {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: adminPassword } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    },
  };
  const token = await fetch(`${keystoneUrl}/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(auth) });
  expect(token.status).toBe(201);
  const r = await fetch(`${keystoneUrl}/${what}${query}`, { headers: { 'x-auth-token': token.headers.get('x-subject-token')! } });
  return ((await r.json()) as Record<string, T[]>)[what]!;
}

const cloudEnv = () => ({ ...process.env, ...env });

beforeAll(async () => {
  dir = await scratchDir('keystone-register');
  const port = await freePort();
  keystoneUrl = `http://127.0.0.1:${port}/v3`;
  env = {
    IMGFACTORY_TEST_CLOUD_ONLY: 'keystone',
    IMGFACTORY_TEST_CLOUD_DIR: path.join(dir, 'keystone'),
    IMGFACTORY_TEST_CLOUD_KEYSTONE_PORT: String(port),
    IMGFACTORY_TEST_CLOUD_CATALOG_URL: `http://${PROXY_HOST}:5000/v3`,
    IMGFACTORY_TEST_CLOUD_WAIT: String(Math.round(scaled(60_000) / 1000)),
  };
  await execa(TEST_CLOUD, ['start'], { env: cloudEnv(), stdio: ['ignore', 'ignore', 'inherit'] });
  adminPassword = (await readFile(path.join(dir, 'keystone', 'secrets'), 'utf8')).match(/^admin=(.*)$/m)![1]!;
  await execa('mkdir', ['-p', path.join(dir, 'bin')]);
  for (const [from, to] of [
    [SCRIPT, 'bin/55-keystone-register'],
    ['os-apply-config/static/usr/local/bin/os-metadata', 'bin/os-metadata'],
    ['os-apply-config/static/usr/libexec/os-apply-config/defaults.json', 'defaults.json'],
  ] as const) {
    await copyFile(path.join(ELEMENTS, from), path.join(dir, to));
    await chmod(path.join(dir, to), 0o755);
  }
  await writeFile(path.join(dir, 'node.json'), JSON.stringify(metadata()));
}, scaled(180_000));

afterAll(async () => {
  await proxy?.stop();
  if (dir) await execa(TEST_CLOUD, ['stop'], { env: cloudEnv(), reject: false });
});

describe('55-keystone-register against a Keystone that drops connections and answers 503', () => {
  it('starts over and registers every service once: an endpoint made whose answer was lost is not made twice', async () => {
    const first = new Set<string>();
    // Each fault on the first request of its kind only: the second try of each passes.
    const faults: Record<string, Fault> = {
      'POST /v3/endpoints': 'lost', // Keystone makes it; the script hears a reset
      'POST /v3/users': 'cut', // the reset comes before Keystone sees it
      'GET /v3/services': 'unavailable',
    };
    const run = await register((method, p) => {
      const request = `${method} ${p}`;
      if (!(request in faults) || first.has(request)) return null;
      first.add(request);
      return faults[request]!;
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.match(/Keystone failed mid-registration \(.*\): starting over/g)).toHaveLength(3);
    expect(run.stdout).not.toContain('secret');

    const services = await list<{ id: string; name: string }>('services');
    const endpoints = await list<{ service_id: string; interface: string; url: string }>('endpoints');
    for (const name of Object.values(SERVICES).flat()) {
      const service = services.filter((s) => s.name === name);
      expect(service, name).toHaveLength(1);
      const mine = endpoints.filter((e) => e.service_id === service[0]!.id).map((e) => e.interface);
      expect(mine.sort(), name).toEqual(['admin', 'internal', 'public']);
    }
    const users = (await list<{ name: string }>('users')).map((u) => u.name);
    for (const user of Object.keys(SERVICES)) expect(users.filter((u) => u === user), user).toHaveLength(1);
    const heat = (await list<{ id: string; name: string }>('domains')).filter((d) => d.name === 'heat');
    expect(heat).toHaveLength(1);
    expect((await list<{ name: string }>('users', `?domain_id=${heat[0]!.id}`)).map((u) => u.name)).toEqual(['heat_domain_admin']);
  }, scaled(180_000));

  it('run again with the same metadata, it only reads: no request that makes or changes anything', async () => {
    const run = await register(() => null);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    const writes = run.seen.filter((r) => !/^(GET|HEAD) /.test(r) && r !== 'POST /v3/auth/tokens');
    expect(writes).toEqual([]);
  }, scaled(180_000));
});
