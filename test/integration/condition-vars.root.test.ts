// package-installs' `when:` decided as diskimage-builder decides it: with the
// image's environment.d sourced (a default an element sets there counts, a
// declared value still wins), by the real sandbox before the build is
// planned. Needs root (the sandbox mounts).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Distro } from '../../src/distro/distro.js';
import { loadDistro } from '../../src/distro/load-distro.js';
import type { Element } from '../../src/elements/element.js';
import { chooseInstallTypes } from '../../src/elements/install-types.js';
import { loadElement } from '../../src/elements/load-element.js';
import { conditionNames, conditionVars } from '../../src/engine/condition-vars.js';
import { makeHooksTree } from '../../src/engine/hooks-tree.js';
import { unwrap } from '../../src/failure.js';
import { chooseSandbox } from '../../src/sandbox/sandbox.js';
import { packageSteps } from '../../src/steps/packages.js';
import { FIXTURES } from '../support/fixtures.js';
import { scratchDir } from '../support/run-dir.js';

const DIB_USER = path.join(FIXTURES, 'elements', 'dib-users', 'dib-user');
const TYPED = path.join(FIXTURES, 'elements', 'build', 'typed');

async function decide(name: string, declared: Record<string, string>): Promise<{ vars: Record<string, string>; installs: string[] }> {
  const element = unwrap(await loadElement('dib-user', DIB_USER, path.dirname(DIB_USER)));
  const { vars, distro } = await varsFor(name, [element], declared);
  const installs = packageSteps([element], distro, vars).flatMap((s) => s.packages.map((p) => p.name));
  return { vars, installs };
}

/** What conditionVars reads back for `elements`, with the real sandbox. */
async function varsFor(name: string, elements: Element[], declared: Record<string, string>): Promise<{ vars: Record<string, string>; distro: Distro }> {
  const dir = await scratchDir(name);
  const distro = unwrap(await loadDistro('debian-bookworm'));
  const hooksDir = path.join(dir, 'hooks');
  await makeHooksTree(elements, hooksDir);
  for (const d of ['tree', 'merged', 'logs']) await mkdir(path.join(dir, d));
  const { sandbox } = await chooseSandbox('auto', path.join(dir, 'state'));
  const vars = await conditionVars({
    elements,
    imageName: name,
    distro,
    declared,
    sourceDateEpoch: null,
    dibLib: null,
    hooksDir,
    emptyTree: path.join(dir, 'tree'),
    mergedDir: path.join(dir, 'merged'),
    logDir: path.join(dir, 'logs'),
    sandbox: async () => sandbox,
  });
  return { vars, distro };
}

describe('conditionVars', () => {
  it('names the variables the conditions read', async () => {
    const element = unwrap(await loadElement('dib-user', DIB_USER, path.dirname(DIB_USER)));
    expect(conditionNames([element])).toEqual(['DIB_USER_FLAVOUR']);
  });

  it("decides `when:` with the default the element's environment.d sets", async () => {
    const { vars, installs } = await decide('condition-default', {});
    expect(vars).toEqual({ DIB_USER_FLAVOUR: 'hello' });
    expect(installs).toEqual(['hello']);
  });

  it('lets a declared value win over that default, as DIB does', async () => {
    const { vars, installs } = await decide('condition-declared', { DIB_USER_FLAVOUR: 'cowsay' });
    expect(vars).toEqual({ DIB_USER_FLAVOUR: 'cowsay' });
    expect(installs).toEqual(['cowsay']);
  });

  it("reads the install type an element's environment.d chooses, as install-types sees it at extra-data.d", async () => {
    const dir = await scratchDir('condition-install-types');
    const typed = unwrap(await loadElement('typed', TYPED, path.dirname(TYPED)));
    // An element whose environment.d sets the default type (as disk-image-create's 11-dib-install-type.bash would for --install-type).
    await mkdir(path.join(dir, 'elements', 'install-types'), { recursive: true });
    await mkdir(path.join(dir, 'elements', 'package-default', 'environment.d'), { recursive: true });
    await writeFile(path.join(dir, 'elements', 'package-default', 'environment.d', '10-install-type'), 'export DIB_DEFAULT_INSTALLTYPE=package\n');
    const load = async (n: string): Promise<Element> => unwrap(await loadElement(n, path.join(dir, 'elements', n), path.join(dir, 'elements')));
    const elements = [typed, await load('package-default'), await load('install-types')];
    const { vars } = await varsFor('condition-install-types-run', elements, {});
    expect(vars).toEqual({ DIB_DEFAULT_INSTALLTYPE: 'package' });
    expect(chooseInstallTypes(elements, vars).hooks.map((h) => h.dir)).toEqual(['typed-package-install']);
    // A declared DIB_INSTALLTYPE_<prefix> still chooses for its prefix.
    const declared = await varsFor('condition-install-types-declared', elements, { DIB_INSTALLTYPE_typed: 'source' });
    expect(chooseInstallTypes(elements, declared.vars).hooks.map((h) => h.dir)).toEqual(['typed-source-install']);
  });
});
