import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopback, parseCacheRef } from '../../../../src/cache/remote/cache-ref.js';

describe('parseCacheRef', () => {
  it('reads registry refs with and without a port', () => {
    expect(parseCacheRef('registry://127.0.0.1:5000/ci/cache')).toEqual({
      ok: true,
      value: { kind: 'registry', registry: '127.0.0.1:5000', hostname: '127.0.0.1', port: 5000, repository: 'ci/cache', text: 'registry://127.0.0.1:5000/ci/cache' },
    });
    const r = parseCacheRef('registry://registry.example.com/a/b-c/d__e.f');
    expect(r.ok && r.value).toMatchObject({ registry: 'registry.example.com', port: null, repository: 'a/b-c/d__e.f' });
  });

  it('reads oci:<dir> as an absolute directory', () => {
    expect(parseCacheRef('oci:some/dir')).toEqual({ ok: true, value: { kind: 'oci', dir: path.resolve('some/dir'), text: 'oci:some/dir' } });
  });

  it.each([
    ['docker://host/repo', /unknown kind/],
    ['registry://host', /no repository/],
    ['registry://host/Upper', /not a repository name/],
    ['registry://host/a//b', /not a repository name/],
    ['registry://user:pw@host/repo', /credentials do not belong/],
    ['registry://host:99999/repo', /out of range/],
    ['registry://ho_st/repo', /not a host name/],
    ['oci:', /needs a directory/],
  ])('refuses %s', (text, message) => {
    const r = parseCacheRef(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.reason === 'usage' && r.error.message).toMatch(message);
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['[::1]', true],
    ['10.0.0.1', false],
    ['localhost.example.com', false],
    ['128.0.0.1', false],
  ])('%s -> %s', (host, expected) => expect(isLoopback(host)).toBe(expected));
});
