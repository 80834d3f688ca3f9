import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../../src/distro/load-distro.js';
import { FailureError, unwrap } from '../../../src/failure.js';
import { dibDefaults } from '../../../src/steps/dib-runtime.js';
import { declaredVars, hookEnv, keyEnv } from '../../../src/steps/hook-env.js';

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
});
