// The key inputs computed once per build (src/steps/inputs.ts): which
// elements' hooks read other elements' files, so that their steps are keyed
// by every element's digest. The os-apply-config and os-refresh-config
// elements install the templates and refresh scripts every service element
// keeps beside its hooks: a template edited in keystone must re-run that
// install, or the image keeps the old template (a wrong cache hit).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../../src/distro/load-distro.js';
import { loadElement } from '../../../src/elements/load-element.js';
import { makeHooksTree } from '../../../src/engine/hooks-tree.js';
import { unwrap } from '../../../src/failure.js';
import { prepareInputs } from '../../../src/steps/inputs.js';
import { scratchDir } from '../../support/run-dir.js';

const REPO = path.join(import.meta.dirname, '..', '..', '..', 'elements');

async function serviceElement(template: string) {
  const dir = path.join(await scratchDir('service'), 'service');
  await mkdir(path.join(dir, 'os-apply-config', 'etc', 'service'), { recursive: true });
  await writeFile(path.join(dir, 'os-apply-config', 'etc', 'service', 'service.conf'), template);
  return unwrap(await loadElement('service', dir, dir));
}

async function inputsOf(template: string) {
  const elements = [
    unwrap(await loadElement('os-refresh-config', path.join(REPO, 'os-refresh-config'), REPO)),
    unwrap(await loadElement('os-apply-config', path.join(REPO, 'os-apply-config'), REPO)),
    await serviceElement(template),
  ];
  const distro = unwrap(await loadDistro('debian-bookworm'));
  const hooksDir = await scratchDir('hooks');
  await makeHooksTree(elements, hooksDir);
  return prepareInputs({ distro, elements, imageName: 'img', hooksDir, declared: {}, sourceDateEpoch: null, dibLib: null, secrets: [], volatileScope: [] });
}

describe('key inputs shared by a build', () => {
  it('keys the hooks that install the merged os-apply-config/ and os-refresh-config/ directories by every element', async () => {
    const cache = await inputsOf('[DEFAULT]\nhost = {{service.host}}\n');
    expect([...cache.readsOtherElements].sort()).toEqual(['os-apply-config', 'os-refresh-config']);
    const edited = await inputsOf('[DEFAULT]\nhost = {{service.host}}\ndebug = true\n');
    expect(edited.elementDigest.get('service')).not.toBe(cache.elementDigest.get('service'));
  });
});
