// A token server for the registry's bearer auth (the distribution token
// spec): it checks Basic credentials and grants the asked-for repository
// actions in an RS256 JWT whose x5c header carries a throwaway self-signed
// certificate — the same certificate the registry trusts through its
// `rootcertbundle`. Anonymous requests get a token with no access at all.
import { execa } from 'execa';
import { createSign, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { scratchDir } from './run-dir.js';

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** The certificate the registry must trust (rootcertbundle). */
  certFile: string;
  /** Query strings of the token requests seen, and whether they carried credentials. */
  requests: { params: URLSearchParams; authorized: boolean }[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export async function startTokenServer(user: string, password: string): Promise<TokenServer> {
  const dir = await scratchDir('token');
  const keyFile = path.join(dir, 'token.key');
  const certFile = path.join(dir, 'token.crt');
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=imgfactory test token issuer', '-keyout', keyFile, '-out', certFile]);
  const key = await readFile(keyFile, 'utf8');
  const x5c = (await readFile(certFile, 'utf8')).replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const service = 'imgfactory-test-registry';
  const issuer = 'imgfactory-test-issuer';
  const requests: TokenServer['requests'] = [];
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const authorized = req.headers.authorization === expected;
    requests.push({ params: url.searchParams, authorized });
    if (req.headers.authorization && !authorized) {
      res.writeHead(401).end();
      return;
    }
    const access = authorized
      ? url.searchParams.getAll('scope').map((s) => {
          const [type, name, actions] = s.split(':');
          return { type, name, actions: (actions ?? '').split(',').filter(Boolean) };
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, sub: authorized ? user : '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [x5c] }));
    const body = b64url(JSON.stringify(claims));
    const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key).toString('base64url');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${head}.${body}.${sig}`, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
