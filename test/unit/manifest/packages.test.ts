import { describe, expect, it } from 'vitest';
import { parseDpkgQuery } from '../../../src/manifest/packages.js';

describe('parseDpkgQuery', () => {
  it('keeps installed packages only, sorted by name then arch', () => {
    const text = ['zlib1g\t1:1.2.13\tamd64\tii ', 'bash\t5.2.15-2+b7\tamd64\tii ', 'gone\t1.0\tamd64\trc ', 'libc6\t2.36\ti386\tii ', 'libc6\t2.36\tamd64\tii ', ''].join('\n');
    const r = parseDpkgQuery(text);
    expect(r.ok && r.value).toEqual([
      { name: 'bash', version: '5.2.15-2+b7', arch: 'amd64' },
      { name: 'libc6', version: '2.36', arch: 'amd64' },
      { name: 'libc6', version: '2.36', arch: 'i386' },
      { name: 'zlib1g', version: '1:1.2.13', arch: 'amd64' },
    ]);
  });

  it('refuses a line it cannot read', () => {
    expect(parseDpkgQuery('bash 5.2\n').ok).toBe(false);
  });
});
