import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { authFiles, findCredentials, normalizeRegistry } from '../../../../src/cache/remote/credentials.js';
import { scratchDir } from '../../../support/run-dir.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A scratch home in the test run's directory (removed with it at the end of the run). */
async function dir(): Promise<string> {
  return scratchDir('creds');
}

describe('findCredentials', () => {
  it('reads ~/.docker/config.json auths, with keys written as URLs', async () => {
    const home = await dir();
    await writeFile(path.join(home, 'config.json'), JSON.stringify({ auths: { 'https://reg.example.com:5000/v1/': { auth: b64('ci:pa:ss') } } }));
    expect(await findCredentials('reg.example.com:5000', { DOCKER_CONFIG: home })).toEqual({ username: 'ci', password: 'pa:ss' });
    expect(await findCredentials('reg.example.com', { DOCKER_CONFIG: home })).toBeNull();
  });

  it('prefers the environment, then REGISTRY_AUTH_FILE, then docker config', async () => {
    const d = await dir();
    const auth = path.join(d, 'auth.json');
    await writeFile(auth, JSON.stringify({ auths: { r: { auth: b64('podman:1') } } }));
    await writeFile(path.join(d, 'config.json'), JSON.stringify({ auths: { r: { auth: b64('docker:2') } } }));
    expect(await findCredentials('r', { DOCKER_CONFIG: d })).toEqual({ username: 'docker', password: '2' });
    expect(await findCredentials('r', { DOCKER_CONFIG: d, REGISTRY_AUTH_FILE: auth })).toEqual({ username: 'podman', password: '1' });
    expect(await findCredentials('r', { DOCKER_CONFIG: d, REGISTRY_AUTH_FILE: auth, IMGFACTORY_REGISTRY_USERNAME: 'env', IMGFACTORY_REGISTRY_PASSWORD: '3' })).toEqual({
      username: 'env',
      password: '3',
    });
  });

  it('keeps an identity token as one', async () => {
    const d = await dir();
    await writeFile(path.join(d, 'config.json'), JSON.stringify({ auths: { r: { identitytoken: 'refresh-me' } } }));
    expect(await findCredentials('r', { DOCKER_CONFIG: d })).toEqual({ identityToken: 'refresh-me' });
  });

  it('asks a credential helper named in credHelpers', async () => {
    const d = await dir();
    const helper = path.join(d, 'docker-credential-test');
    await writeFile(helper, '#!/bin/sh\nread server\necho "{\\"Username\\":\\"helped\\",\\"Secret\\":\\"for-$server\\"}"\n', { mode: 0o755 });
    await writeFile(path.join(d, 'config.json'), JSON.stringify({ credHelpers: { 'r:1': 'test' } }));
    expect(await findCredentials('r:1', { DOCKER_CONFIG: d, PATH: `${d}:${process.env.PATH}` })).toEqual({ username: 'helped', password: 'for-r:1' });
  });

  it('is anonymous when nothing matches or files are unreadable', async () => {
    const d = await dir();
    await writeFile(path.join(d, 'config.json'), '{not json');
    expect(await findCredentials('r', { DOCKER_CONFIG: d })).toBeNull();
  });
});

describe('auth file order and keys', () => {
  it('lists the files container tools use', () => {
    expect(authFiles({ REGISTRY_AUTH_FILE: '/a', XDG_RUNTIME_DIR: '/run/user/0', HOME: '/h' })).toEqual(['/a', '/run/user/0/containers/auth.json', '/h/.docker/config.json']);
  });
  it('normalizes keys to host[:port]', () => {
    expect(normalizeRegistry('https://Index.Docker.io/v1/')).toBe('index.docker.io');
    expect(normalizeRegistry('localhost:5000')).toBe('localhost:5000');
  });
});
