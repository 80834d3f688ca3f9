import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../../src/distro/load-distro.js';
import { FailureError, unwrap } from '../../../src/failure.js';
import { dibDefaults } from '../../../src/steps/dib-runtime.js';
import { declaredVars, hookEnv, keyEnv, outsideWritable } from '../../../src/steps/hook-env.js';

describe('hook environment', () => {
  it('passes DIB_* and --env variables, nothing else', () => {
    const env = { DIB_FOO: '1', HOME: '/home/me', SECRET: 's', EXTRA: 'e', PATH: '/bin' };
    expect(declaredVars(env, ['EXTRA', 'SET=v', 'MISSING'])).toEqual({ DIB_FOO: '1', EXTRA: 'e', SET: 'v' });
  });

  it('sets what DIB hooks rely on, inside and outside', async () => {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const inside = hookEnv({ place: 'inside', distro, hooksDir: '/b/hooks', declared: { DIB_X: '1' }, sourceDateEpoch: 42 });
    expect(inside).toMatchObject({ TMP_HOOKS_PATH: '/tmp/in_target.d', ARCH: 'amd64', DISTRO_NAME: 'debian', DIB_RELEASE: 'bookworm', LC_ALL: 'C', HOME: '/root', SOURCE_DATE_EPOCH: '42', DIB_X: '1' });
    expect(inside.IMAGE_NAME).toBeUndefined();
    const outside = hookEnv({ place: 'outside', distro, hooksDir: '/b/hooks', declared: {}, sourceDateEpoch: null, image: { name: 'img', elements: [{ name: 'a', dir: '/e/a' }, { name: 'b', dir: '/e/b' }] } });
    expect(outside).toMatchObject({ TMP_HOOKS_PATH: '/b/hooks', IMAGE_NAME: 'img', IMAGE_ELEMENT: 'a b', DIB_IMAGE_ELEMENT: 'a b' });
    expect(outside.PATH!.startsWith('/b/hooks/bin:')).toBe(true);
  });

  it('blanks the host path of the hooks tree in keys', async () => {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const a = hookEnv({ place: 'outside', distro, hooksDir: '/one/hooks', declared: {}, sourceDateEpoch: null });
    const b = hookEnv({ place: 'outside', distro, hooksDir: '/two/elsewhere/hooks', declared: {}, sourceDateEpoch: null });
    expect(keyEnv(a, '/one/hooks')).toEqual(keyEnv(b, '/two/elsewhere/hooks'));
  });

  it('refuses --env names a shell could not export, naming the name and never the value', () => {
    for (const item of ['1BAD=x', '=x', 'A B=1', 'A-B=secret-value', 'É=1']) {
      let err: unknown;
      try {
        declaredVars({}, [item]);
      } catch (e) {
        err = e;
      }
      expect(err, item).toBeInstanceOf(FailureError);
      expect((err as FailureError).failure).toMatchObject({ reason: 'usage' });
      expect(JSON.stringify((err as FailureError).failure)).not.toContain('secret-value');
    }
  });

  it('refuses every name imgfactory sets for hooks itself, saying which option sets it', async () => {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const env = hookEnv({ place: 'outside', distro, hooksDir: '/h', declared: {}, sourceDateEpoch: 1, image: { name: 'i', elements: [{ name: 'e', dir: '/x/e' }] } });
    // The DIB_* defaults (dib-runtime.ts) are defaults: a declared value overrides them.
    const defaults = Object.keys(dibDefaults(distro, '/h'));
    for (const name of [...Object.keys(env).filter((k) => !defaults.includes(k)), 'TARGET_ROOT', 'TMP_MOUNT_PATH', 'IMAGE_BLOCK_DEVICE', 'IMAGE_BLOCK_DEVICE_TYPE']) {
      expect(() => declaredVars({}, [`${name}=x`]), name).toThrow(FailureError);
    }
    expect(() => declaredVars({}, ['DIB_RELEASE=trixie'])).toThrow(expect.objectContaining({ failure: expect.objectContaining({ hint: expect.stringContaining('--release') }) }));
    expect(declaredVars({}, ['DIB_FOO=1', '_OK2=y'])).toEqual({ DIB_FOO: '1', _OK2: 'y' });
  });

  it('refuses a declared name that looks like a secret, from --env or the environment, pointing at --secret and --not-secret', () => {
    const value = 'pw-never-repeated';
    for (const [env, extra, message] of [
      [{}, [`SECRET=${value}`], /^--env SECRET: the name looks like a secret/],
      [{ GITHUB_TOKEN: value }, ['GITHUB_TOKEN'], /^--env GITHUB_TOKEN: /],
      [{ DIB_DEV_USER_PASSWORD: value }, [], /^DIB_DEV_USER_PASSWORD \(in the environment\): /],
    ] as const) {
      let err: unknown;
      try {
        declaredVars(env, [...extra]);
      } catch (e) {
        err = e;
      }
      expect((err as FailureError).failure).toMatchObject({ reason: 'usage', message: expect.stringMatching(message), hint: expect.stringMatching(/--secret id=\w+,export .* --not-secret \w+/) });
      expect(JSON.stringify((err as FailureError).failure)).not.toContain(value);
    }
  });

  it('declares a name that only looks secret when told it is not, and refuses --not-secret for what is not declared', () => {
    expect(declaredVars({ DIB_SSH_KEY: '/root/id.pub' }, [], { notSecret: ['DIB_SSH_KEY'] })).toEqual({ DIB_SSH_KEY: '/root/id.pub' });
    expect(() => declaredVars({}, [], { notSecret: ['DIB_TYPO'] })).toThrow(expect.objectContaining({ failure: expect.objectContaining({ message: expect.stringMatching(/--not-secret DIB_TYPO: no declared variable/) }) }));
  });

  it('leaves a secret out of the declared variables, and refuses one declared both ways or exported under a name hooks cannot get', () => {
    const secrets = [{ id: 'DIB_API_PASSWORD', exported: true }];
    expect(declaredVars({ DIB_API_PASSWORD: 'pw-x', DIB_FOO: '1' }, [], { secrets })).toEqual({ DIB_FOO: '1' });
    expect(() => declaredVars({}, ['DIB_API_PASSWORD=x'], { secrets })).toThrow(expect.objectContaining({ failure: expect.objectContaining({ message: '--env DIB_API_PASSWORD: DIB_API_PASSWORD is a --secret too' }) }));
    expect(() => declaredVars({}, [], { secrets: [{ id: 'key.pem', exported: true }] })).toThrow(/not a variable name a shell could export/);
    expect(() => declaredVars({}, [], { secrets: [{ id: 'PATH', exported: true }] })).toThrow(/imgfactory sets PATH for hooks itself/);
    expect(declaredVars({}, [], { secrets: [{ id: 'key.pem', exported: false }] })).toEqual({});
  });

  it('lets outside hooks write a DIB_IMAGE_CACHE given as a path, and what --host-writable names', () => {
    expect(outsideWritable({ DIB_IMAGE_CACHE: '/var/cache/dib' }, ['/srv/ccache'])).toEqual(['/var/cache/dib', '/srv/ccache']);
    expect(outsideWritable({ DIB_IMAGE_CACHE: 'relative' })).toEqual([]);
    expect(outsideWritable({})).toEqual([]);
  });
});

