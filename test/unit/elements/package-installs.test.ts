import { describe, expect, it } from 'vitest';
import { packageApplies, parsePackageInstalls } from '../../../src/elements/package-installs.js';

describe('parsePackageInstalls', () => {
  it('parses the diskimage-builder forms', () => {
    const r = parsePackageInstalls(
      'vim:\ngrub-pc:\n  phase: pre-install.d\n  arch: amd64, arm64\nnano: {uninstall: true}\ngcc: {build-only: true}\n' +
        'multi:\n  - {phase: install.d}\n  - {phase: finalise.d, uninstall: true}\ncurl:\n  when: DIB_CURL = 1\n',
    );
    if (!r.ok) throw new Error(r.message);
    expect(r.packages.map((p) => [p.name, p.phase, p.uninstall, p.buildOnly, p.arch, p.line])).toEqual([
      ['vim', 'install.d', false, false, null, 1],
      ['grub-pc', 'pre-install.d', false, false, ['amd64', 'arm64'], 2],
      ['nano', 'install.d', true, false, null, 5],
      ['gcc', 'install.d', false, true, null, 6],
      ['multi', 'install.d', false, false, null, 7],
      ['multi', 'finalise.d', true, false, null, 7],
      ['curl', 'install.d', false, false, null, 10],
    ]);
    expect(r.packages[6]!.when).toEqual([{ variable: 'DIB_CURL', op: '=', value: '1' }]);
  });

  it('an empty file means no packages', () => {
    expect(parsePackageInstalls('')).toEqual({ ok: true, packages: [] });
    expect(parsePackageInstalls('# nothing\n')).toEqual({ ok: true, packages: [] });
  });

  it.each([
    ['vim:\n  phase: nowhere.d\n', 2, '"nowhere.d" is not a phase'],
    ['vim:\n  uninstall: maybe\n', 2, '"uninstall" must be true or false'],
    ['vim:\n  when: just words\n', 2, '"when" needs'],
    ['- vim\n', 1, 'expected a map'],
    ['"bad name":\n', 1, 'is not a package name'],
    ['vim:\nvim:\n', 2, 'listed twice (first at line 1)'],
    ['vim: {uninstall: true, build-only: true}\n', 1, 'cannot be both'],
    ['vim:\n  installtype: ""\n', 2, '"installtype" must be an install type'],
  ])('rejects %j at line %i', (text, line, message) => {
    const r = parsePackageInstalls(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.line).toBe(line);
    expect(r.message).toContain(message);
  });

  it("accepts DIB's generic names (pkg-map maps them later) and applies installtype and dib_python_version as DIB does", () => {
    const r = parsePackageInstalls('NetworkManager:\npython3-PyYAML: {dib_python_version: 3}\nfoo-lib: {installtype: package}\nfoo-src: {installtype: source}\n');
    if (!r.ok) throw new Error(r.message);
    const [nm, yaml, lib, src] = r.packages as [never, never, never, never];
    expect(packageApplies(nm, 'amd64', {})).toBe(true);
    expect(packageApplies(yaml, 'amd64', {})).toBe(false);
    expect(packageApplies(yaml, 'amd64', { DIB_PYTHON_VERSION: '3' })).toBe(true);
    expect(packageApplies(lib, 'amd64', {}, 'my-el')).toBe(false);
    expect(packageApplies(src, 'amd64', {}, 'my-el')).toBe(true);
    expect(packageApplies(lib, 'amd64', { DIB_DEFAULT_INSTALLTYPE: 'package' }, 'my-el')).toBe(true);
    expect(packageApplies(lib, 'amd64', { DIB_DEFAULT_INSTALLTYPE: 'source', DIB_INSTALLTYPE_my_el: 'package' }, 'my-el')).toBe(true);
  });

  it('applies arch, not-arch and when conditions', () => {
    const r = parsePackageInstalls('a: {arch: amd64}\nb: {not-arch: amd64}\nc:\n  when:\n    - X = 1\n    - Y != 2\n');
    if (!r.ok) throw new Error(r.message);
    const [a, b, c] = r.packages as [never, never, never];
    expect(packageApplies(a, 'amd64', {})).toBe(true);
    expect(packageApplies(a, 'arm64', {})).toBe(false);
    expect(packageApplies(b, 'amd64', {})).toBe(false);
    expect(packageApplies(c, 'amd64', { X: '1' })).toBe(true);
    expect(packageApplies(c, 'amd64', { X: '1', Y: '2' })).toBe(false);
    expect(packageApplies(c, 'amd64', {})).toBe(false);
  });
});
