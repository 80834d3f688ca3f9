import { describe, expect, it } from 'vitest';
import { compareHookNames, isRunnableHookName } from '../../../src/elements/hook-name.js';

describe('hook names', () => {
  it('accepts only what dib-run-parts runs', () => {
    expect(isRunnableHookName('10-install_foo')).toBe(true);
    expect(isRunnableHookName('10-foo.sh')).toBe(false);
    expect(isRunnableHookName('.hidden')).toBe(false);
    expect(isRunnableHookName('foo~')).toBe(false);
  });

  it('orders by numeric prefix, then by byte order (not locale)', () => {
    const names = ['50-b', '9-z', '10-a', '50-B', '50-a', 'zz', '010-x'];
    expect([...names].sort(compareHookNames)).toEqual(['9-z', '010-x', '10-a', '50-B', '50-a', '50-b', 'zz']);
  });
});
