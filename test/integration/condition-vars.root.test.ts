// package-installs' `when:` decided as diskimage-builder decides it: with the
// image's environment.d sourced (a default an element sets there counts, a
// declared value still wins), by the real sandbox before the build is
// planned. Needs root (the sandbox mounts).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../src/distro/load-distro.js';
import { loadElement } from '../../src/elements/load-element.js';
import { conditionNames, conditionVars } from '../../src/engine/condition-vars.js';
import { makeHooksTree } from '../../src/engine/hooks-tree.js';
import { unwrap } from '../../src/failure.js';
import { chooseSandbox } from '../../src/sandbox/sandbox.js';
import { packageSteps } from '../../src/steps/packages.js';
import { FIXTURES } from '../support/fixtures.js';
import { scratchDir } from '../support/run-dir.js';

const DIB_USER = path.join(FIXTURES, 'elements', 'dib-users', 'dib-user');

async function decide(name: string, declared: Record<string, string>): Promise<{ vars: Record<string, string>; installs: string[] }> {
  const dir = await scratchDir(name);
  const distro = unwrap(await loadDistro('debian-bookworm'));
  const element = unwrap(await loadElement('dib-user', DIB_USER, path.dirname(DIB_USER)));
  const hooksDir = path.join(dir, 'hooks');
  await makeHooksTree([element], hooksDir);
  for (const d of ['tree', 'merged', 'logs']) await mkdir(path.join(dir, d));
  const { sandbox } = await chooseSandbox('auto', path.join(dir, 'state'));
  const vars = await conditionVars({
    elements: [element],
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
  const installs = packageSteps([element], distro, vars).flatMap((s) => s.packages.map((p) => p.name));
  return { vars, installs };
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
});
