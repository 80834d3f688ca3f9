import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chosenInstallTypeDirs, installTypeVarNames, parseInstallTypeDir } from '../../../src/elements/install-types.js';
import { loadElement } from '../../../src/elements/load-element.js';
import { unwrap } from '../../../src/failure.js';
import { FIXTURES } from '../../support/fixtures.js';

const TYPED = path.join(FIXTURES, 'elements', 'build', 'typed');
const DIRS = new Set(['typed-source-install', 'typed-package-install', 'os-apply-config-source-install', 'os-apply-config-package-install', 'simple-init-repo-install']);
const chosen = (vars: Record<string, string>): string[] => [...chosenInstallTypeDirs(DIRS, vars)].sort();

describe('install types as DIB 3.13 chooses them (99-enable-install-types)', () => {
  it('chooses every prefix’s DIB_DEFAULT_INSTALLTYPE directory, `source` when the variable is unset', () => {
    expect(chosen({})).toEqual(['os-apply-config-source-install', 'typed-source-install']);
    expect(chosen({ DIB_DEFAULT_INSTALLTYPE: 'package' })).toEqual(['os-apply-config-package-install', 'typed-package-install']);
  });

  it('lets DIB_INSTALLTYPE_<prefix> (`_` read as `-`) choose for its prefix alone', () => {
    expect(chosen({ DIB_INSTALLTYPE_os_apply_config: 'package' })).toEqual(['os-apply-config-package-install', 'typed-source-install']);
    expect(chosen({ DIB_INSTALLTYPE_simple_init: 'repo', DIB_DEFAULT_INSTALLTYPE: 'package' })).toEqual(['os-apply-config-package-install', 'simple-init-repo-install', 'typed-package-install']);
  });

  it('runs none of a prefix’s types when its variable names a type it does not have (the default does not step in)', () => {
    expect(chosen({ DIB_INSTALLTYPE_typed: 'repo' })).toEqual(['os-apply-config-source-install']);
  });

  it('matches whole directory names, so a type may contain `-`', () => {
    expect([...chosenInstallTypeDirs(new Set(['x-from-git-install', 'x-source-install']), { DIB_INSTALLTYPE_x: 'from-git' })]).toEqual(['x-from-git-install']);
  });

  it('reads `<prefix>-<type>-install` names only', () => {
    expect(parseInstallTypeDir('os-apply-config-source-install')).toEqual({ prefix: 'os-apply-config', type: 'source' });
    expect(parseInstallTypeDir('source-install')).toBeNull();
    expect(parseInstallTypeDir('templates')).toBeNull();
  });
});

describe('loading install types', () => {
  let scratch = '';
  afterEach(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('records each install.d/<prefix>-<type>-install directory with its hooks, apart from the plain hooks', async () => {
    const e = unwrap(await loadElement('typed', TYPED, path.dirname(TYPED)));
    expect(e.hooks['install.d']!.map((h) => h.name)).toEqual(['10-typed-first', '50-typed', '90-typed-last']);
    expect(e.installTypes).toEqual([
      { dir: 'typed-package-install', prefix: 'typed', type: 'package', hooks: [{ phase: 'install.d', name: '50-typed', path: path.join(TYPED, 'install.d/typed-package-install/50-typed') }] },
      { dir: 'typed-source-install', prefix: 'typed', type: 'source', hooks: [{ phase: 'install.d', name: '50-typed', path: path.join(TYPED, 'install.d/typed-source-install/50-typed') }] },
    ]);
    expect(e.warnings).toEqual([]);
    expect(installTypeVarNames([e])).toEqual(['DIB_DEFAULT_INSTALLTYPE', 'DIB_INSTALLTYPE_typed']);
  });

  it('keeps to what dib-run-parts runs through the links: warns about the rest, ignores other sub-directories', async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'install-types-'));
    const dir = path.join(scratch, 'os-apply-config');
    const typed = path.join(dir, 'install.d', 'os-apply-config-source-install');
    await mkdir(path.join(typed, 'nested'), { recursive: true });
    await mkdir(path.join(dir, 'install.d', 'templates'));
    for (const [name, mode] of [['10-oac', 0o755], ['20-oac.sh', 0o755], ['30-oac', 0o644]] as const) {
      await writeFile(path.join(typed, name), '#!/bin/sh\n');
      await chmod(path.join(typed, name), mode);
    }
    const e = unwrap(await loadElement('os-apply-config', dir, scratch));
    expect(e.installTypes.map((t) => [t.dir, t.prefix, t.type, t.hooks.map((h) => h.name)])).toEqual([['os-apply-config-source-install', 'os-apply-config', 'source', ['10-oac']]]);
    expect(e.warnings.map((w) => `${w.file}: ${w.message}`)).toEqual([
      expect.stringMatching(/^install\.d\/os-apply-config-source-install\/20-oac\.sh: will not run: .*letters, digits/),
      expect.stringMatching(/^install\.d\/os-apply-config-source-install\/30-oac: will not run: it is not executable/),
    ]);
    expect(installTypeVarNames([e])).toEqual(['DIB_DEFAULT_INSTALLTYPE', 'DIB_INSTALLTYPE_os', 'DIB_INSTALLTYPE_os_apply', 'DIB_INSTALLTYPE_os_apply_config']);
  });
});
