// A real OCI registry for tests: Debian's docker-registry (distribution 2.8)
// on 127.0.0.1 at a free port, with a temporary config and storage; optional
// htpasswd (bcrypt, via apache2-utils' htpasswd) or bearer tokens, and TLS (a throwaway CA made
// with openssl). docker-registry and htpasswd run in the test tools tree
// (test-tools.ts); the config, storage and certificates are in the run's
// scratch directory, which the tree sees. Stopped by the caller.
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { scratchDir } from './run-dir.js';
import { scaled } from './slowdown.js';
import { inTestTools } from './test-tools.js';

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  dir: string;
  /** Storage root (blobs under docker/registry/v2/blobs/sha256/…). */
  storage: string;
  /** The CA that signed the TLS certificate, when tls was asked for. */
  caFile?: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  htpasswd?: { user: string; password: string };
  /** Bearer auth against a token server (test/support/token-server.ts). */
  token?: { realm: string; service: string; issuer: string; certFile: string };
  tls?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await scratchDir('registry');
  const storage = path.join(dir, 'data');
  await mkdir(storage);
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  let caFile: string | undefined;
  if (opts.tls) {
    const certs = await makeCerts(dir);
    caFile = certs.ca;
    lines.push('  tls:', `    certificate: ${certs.cert}`, `    key: ${certs.key}`);
  }
  if (opts.htpasswd) {
    const r = await execa(...inTestTools('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]));
    await writeFile(path.join(dir, 'htpasswd'), `${r.stdout.trim()}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: imgfactory-test', `    path: ${path.join(dir, 'htpasswd')}`);
  }
  if (opts.token) {
    const t = opts.token;
    lines.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.certFile}`);
  }
  const config = path.join(dir, 'config.yml');
  await writeFile(config, `${lines.join('\n')}\n`);
  const proc: ResultPromise = execa(...inTestTools('docker-registry', ['serve', config]), { reject: false, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ca = caFile ? await readFile(caFile) : undefined;
  const deadline = Date.now() + scaled(10_000);
  for (;;) {
    if (proc.exitCode !== null && proc.exitCode !== undefined) throw new Error(`docker-registry exited: ${stderr}`);
    if (await answers(port, ca)) break;
    if (Date.now() > deadline) {
      proc.kill();
      throw new Error(`docker-registry did not come up on ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    storage,
    ...(caFile ? { caFile } : {}),
    stop: async () => {
      proc.kill('SIGTERM');
      await proc;
    },
  };
}

function answers(port: number, ca?: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const mod = ca ? https : http;
    const req = mod.get({ host: '127.0.0.1', port, path: '/v2/', ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

/** A CA and a server certificate for 127.0.0.1 signed by it. */
async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (n: string): string => path.join(dir, n);
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=imgfactory test CA', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  await execa('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr')]);
  await writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await execa('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('server.crt')]);
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}
