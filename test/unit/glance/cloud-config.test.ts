import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCloud } from '../../../src/glance/cloud-config.js';
import { scratchDir } from '../../support/run-dir.js';

const OS_ENV = {
  OS_AUTH_URL: 'https://keystone.example:5000/v3/',
  OS_USERNAME: 'rm',
  OS_PASSWORD: 's3cret',
  OS_USER_DOMAIN_NAME: 'Default',
  OS_PROJECT_NAME: 'images',
  OS_PROJECT_DOMAIN_NAME: 'Default',
  OS_REGION_NAME: 'RegionTwo',
  OS_INTERFACE: 'internal',
};

describe('resolveCloud', () => {
  it('reads OS_* variables as the openstack CLI does', () => {
    const r = resolveCloud(undefined, OS_ENV, '/nonexistent');
    expect(r.ok && r.value).toMatchObject({
      authUrl: 'https://keystone.example:5000/v3',
      regionName: 'RegionTwo',
      interface: 'internal',
      auth: { type: 'password', username: 'rm', password: 's3cret', projectName: 'images', userDomainName: 'Default' },
    });
  });

  it('reads application credentials', () => {
    const r = resolveCloud(undefined, { OS_AUTH_URL: 'http://k/v3', OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: 'abc', OS_APPLICATION_CREDENTIAL_SECRET: 'xyz' }, '/nonexistent');
    expect(r.ok && r.value.auth).toEqual({ type: 'application-credential', id: 'abc', secret: 'xyz' });
  });

  it('names what is missing, never the password', () => {
    const r = resolveCloud(undefined, { ...OS_ENV, OS_USER_DOMAIN_NAME: undefined }, '/nonexistent');
    expect(!r.ok && r.error.reason === 'cloud-config' && r.error.message).toMatch(/user_domain_name/);
    expect(JSON.stringify(r)).not.toContain('s3cret');
    const none = resolveCloud(undefined, {}, '/nonexistent');
    expect(none.ok).toBe(false);
  });

  it('takes OS_CLOUD from clouds.yaml, merged with secure.yaml, found in the usual places', async () => {
    const home = await scratchDir('clouds-home');
    await mkdir(path.join(home, '.config/openstack'), { recursive: true });
    await writeFile(
      path.join(home, '.config/openstack/clouds.yaml'),
      'clouds:\n  prod:\n    auth:\n      auth_url: http://k:5000\n      username: rm\n      user_domain_name: Default\n      project_name: p\n      project_domain_id: default\n    region_name: R1\n',
    );
    await writeFile(path.join(home, '.config/openstack/secure.yaml'), 'clouds:\n  prod:\n    auth:\n      password: fromsecure\n');
    const r = resolveCloud(undefined, { HOME: home, OS_CLOUD: 'prod', ...{ OS_AUTH_URL: 'http://ignored' } }, '/nonexistent');
    expect(r.ok && r.value).toMatchObject({ authUrl: 'http://k:5000', regionName: 'R1', interface: 'public', auth: { password: 'fromsecure', projectDomainId: 'default' } });
    const missing = resolveCloud('staging', { HOME: home }, '/nonexistent');
    expect(!missing.ok && missing.error.reason === 'cloud-config' && missing.error.hint).toMatch(/prod/);
    const explicit = path.join(home, 'other.yaml');
    await writeFile(explicit, 'clouds:\n  x:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://k2\n      application_credential_id: id1\n      application_credential_secret: sec\n');
    const e = resolveCloud('x', { HOME: home, OS_CLIENT_CONFIG_FILE: explicit }, '/nonexistent');
    expect(e.ok && e.value.auth).toEqual({ type: 'application-credential', id: 'id1', secret: 'sec' });
  });

  it("reads a cloud's image_format and image_endpoint_override (openstacksdk's per-cloud settings)", async () => {
    const dir = await scratchDir('clouds-format');
    const file = path.join(dir, 'clouds.yaml');
    const auth = '    auth: {auth_url: http://k/v3, username: u, password: p, user_domain_name: Default, project_name: x, project_domain_name: Default}\n';
    await writeFile(file, `clouds:\n  ceph:\n${auth}    image_format: raw\n    image_endpoint_override: http://glance:9292/\n  plain:\n${auth}`);
    const ceph = resolveCloud('ceph', { OS_CLIENT_CONFIG_FILE: file }, '/nonexistent');
    expect(ceph.ok && ceph.value).toMatchObject({ imageFormat: 'raw', imageEndpoint: 'http://glance:9292' });
    const plain = resolveCloud('plain', { OS_CLIENT_CONFIG_FILE: file }, '/nonexistent');
    expect(plain.ok && [plain.value.imageFormat, plain.value.imageEndpoint]).toEqual([undefined, undefined]);
  });
});
