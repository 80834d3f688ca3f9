import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { remoteCacheSettings } from '../../../src/cli/remote-cache-args.js';
import { FailureError } from '../../../src/failure.js';
import { captureOutput } from '../../support/capture-output.js';

describe('remoteCacheSettings', () => {
  it('is null without remote caches', async () => {
    expect(await remoteCacheSettings({})).toBeNull();
  });

  it('collects the settings', async () => {
    expect(await remoteCacheSettings({ cacheFrom: ['oci:/a', 'registry://127.0.0.1:5000/c'], cacheTo: 'oci:/a', cacheMode: 'max', cacheRequired: true, insecureRegistry: true, registryCa: ['/ca.pem'] })).toEqual({
      cacheFrom: ['oci:/a', 'registry://127.0.0.1:5000/c'],
      cacheTo: 'oci:/a',
      mode: 'max',
      required: true,
      insecure: true,
      caFiles: ['/ca.pem'],
    });
    expect(await remoteCacheSettings({ cacheTo: 'oci:/x' })).toMatchObject({ cacheFrom: [], mode: 'min', required: false, insecure: false });
  });

  it('refuses a bad ref, and --cache-required, --cache-sign-key or --cache-trust without the remote they need, as usage errors', async () => {
    for (const args of [{ cacheFrom: ['docker://x/y'] }, { cacheTo: 'registry://host' }, { cacheRequired: true }, { cacheFrom: ['oci:/a'], cacheSignKey: '/k.pem' }, { cacheTo: 'oci:/a', cacheTrust: ['/k.pem'] }]) {
      const err = await remoteCacheSettings(args).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FailureError);
      expect((err as FailureError).failure.reason).toBe('usage');
    }
  });
});

describe('cache push|pull on the command line', () => {
  it('a bad ref is a usage error (exit 2)', async () => {
    const out = captureOutput();
    expect(await main(['cache', 'pull', 'img', 'ftp://x/y', '--cache-dir', '/nonexistent'], out)).toBe(2);
    expect(out.stderr.join('\n')).toMatch(/cache ref "ftp:\/\/x\/y": unknown kind of cache/);
  });

  it('--insecure-registry to a remote host is a usage error', async () => {
    const out = captureOutput();
    expect(await main(['cache', 'pull', 'img', 'registry://registry.example.com/c', '--insecure-registry', '--cache-dir', '/nonexistent'], out)).toBe(2);
    expect(out.stderr.join('\n')).toMatch(/only for a registry on loopback/);
  });
});
