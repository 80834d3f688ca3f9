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
import { hook, type HookStep } from '../../../src/steps/hook.js';
import { prepareInputs } from '../../../src/steps/inputs.js';
import type { InputContext } from '../../../src/steps/kind.js';
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

const DIB_ELEMENTS = '/usr/lib/python3/dist-packages/diskimage_builder/elements';

/** An element with one install.d hook and, if given, one environment.d snippet and one os-apply-config template. */
async function elementWith(name: string, hookText: string, environmentD?: string, template?: string) {
  const dir = path.join(await scratchDir('element'), name);
  await mkdir(path.join(dir, 'install.d'), { recursive: true });
  await writeFile(path.join(dir, 'install.d', `50-${name}`), `#!/bin/bash\n${hookText}\n`, { mode: 0o755 });
  if (environmentD !== undefined) {
    await mkdir(path.join(dir, 'environment.d'));
    await writeFile(path.join(dir, 'environment.d', `10-${name}`), environmentD);
  }
  if (template !== undefined) {
    await mkdir(path.join(dir, 'os-apply-config', 'etc'), { recursive: true });
    await writeFile(path.join(dir, 'os-apply-config', 'etc', `${name}.conf`), template);
  }
  return unwrap(await loadElement(name, dir, path.dirname(dir)));
}

/** Each element's install.d hook step key fields in an image named `imageName`: its env, and its element digest by element. */
async function hookEnvs(elements: Awaited<ReturnType<typeof elementWith>>[], imageName: string) {
  const distro = unwrap(await loadDistro('debian-bookworm'));
  const hooksDir = await scratchDir('hooks');
  await makeHooksTree(elements, hooksDir);
  const ctx: InputContext = { distro, elements, imageName, hooksDir, declared: {}, sourceDateEpoch: null, dibLib: null, secrets: [], volatileScope: [] };
  const cache = await prepareInputs(ctx);
  const out = new Map<string, Record<string, string>>();
  const digest = new Map<string, unknown>();
  for (const e of elements) {
    for (const h of e.hooks['install.d'] ?? []) {
      const step: HookStep = { kind: 'hook', id: `${e.name}/install.d/${h.name}`, phase: 'install.d', place: 'inside', element: e.name, hook: h, installType: null };
      const inputs = await hook.inputs(step, ctx, cache);
      out.set(e.name, inputs.env);
      digest.set(e.name, inputs.elementDigest);
    }
  }
  return { cache, env: out, digest };
}

describe('key inputs shared by a build', () => {
  it('keys the hooks that install the merged os-apply-config/ and os-refresh-config/ directories by every element', async () => {
    const cache = await inputsOf('[DEFAULT]\nhost = {{service.host}}\n');
    expect([...cache.readsOtherElements].sort()).toEqual(['os-apply-config', 'os-refresh-config']);
    const edited = await inputsOf('[DEFAULT]\nhost = {{service.host}}\ndebug = true\n');
    expect(edited.elementDigest.get('service')).not.toBe(cache.elementDigest.get('service'));
  });

  it("keys an element's own hooks by its os-apply-config/ templates only when they may read them", async () => {
    const image = async (template: string) =>
      hookEnvs(
        [
          unwrap(await loadElement('os-apply-config', path.join(REPO, 'os-apply-config'), REPO)),
          // Like keystone's debconf hook: it names the tool in a comment, and reads no template.
          await elementWith('service', '# configured at boot through os-apply-config\ndebconf-set-selections </dev/null', undefined, template),
          await elementWith('named', 'install -m 0644 "$TMP_HOOKS_PATH/os-apply-config/etc/named.conf" /etc/', undefined, template),
          await elementWith('relative', 'cat "$(dirname $0)/../os-apply-config/etc/relative.conf"', undefined, template),
          await elementWith('wholesale', 'cp -a "$(dirname "$0")/.." /tmp/all', undefined, template),
          await elementWith('tree', 'find "$TMP_HOOKS_PATH" -type f', undefined, template),
          await elementWith('static', 'install -m 0644 "$TMP_HOOKS_PATH/static/etc/x" /etc/', undefined, template),
        ],
        'img',
      );
    const a = await image('[DEFAULT]\ndebug = false\n');
    const b = await image('[DEFAULT]\ndebug = true\n');
    const changed = ['service', 'named', 'relative', 'wholesale', 'tree', 'static'].filter((e) => a.digest.get(e) !== b.digest.get(e));
    expect(changed).toEqual(['named', 'relative', 'wholesale', 'tree']);
    // The hook that installs every element's templates is keyed by them all.
    expect(a.cache.elementDigest.get('service')).not.toBe(b.cache.elementDigest.get('service'));
    expect(a.cache.readsOtherElements.has('os-apply-config')).toBe(true);
  });

  it("gives the image's name only to the hooks that read it or what environment.d makes of it (DIB's manifests), DIB's default name to the rest", async () => {
    const elements = [
      unwrap(await loadElement('manifests', path.join(DIB_ELEMENTS, 'manifests'), DIB_ELEMENTS)),
      // DIB's dpkg names its manifest after IMAGE_NAME.
      unwrap(await loadElement('dpkg', path.join(DIB_ELEMENTS, 'dpkg'), DIB_ELEMENTS)),
      await elementWith('chain', 'echo hi', 'export MADE=${IMAGE_NAME}-x\nexport CHAINED="$MADE/y"\nexport FIXED=1\n'),
      await elementWith('reads-chained', 'echo "$CHAINED"'),
      await elementWith('chosen', 'echo hi', 'if [ "${IMAGE_ELEMENT:-}" = z ]; then\n  export CHOSEN=1\nfi\n'),
      await elementWith('reads-chosen', 'echo "$CHOSEN"'),
      // FIXED, and manifests' DIB_MANIFEST_IMAGE_DIR, are not made from the image's variables.
      await elementWith('plain', 'echo "$FIXED $DIB_MANIFEST_IMAGE_DIR"'),
    ];
    const a = await hookEnvs(elements, 'controller');
    const b = await hookEnvs(elements, 'renamed');
    expect([...a.cache.readsImageVars].sort()).toEqual(['chain', 'chosen', 'dpkg', 'manifests', 'reads-chained', 'reads-chosen']);
    expect(a.cache.imageVarsInEnvironmentD).toBe(true);
    // The hooks of the others see an image name (environment.d runs under `set -u`), the same whatever the image is called.
    expect(a.env.get('plain')!.IMAGE_NAME).toBe('image');
    expect(a.env.get('plain')).toEqual(b.env.get('plain'));
    expect(a.env.get('reads-chained')!.IMAGE_NAME).toBe('controller');
    expect(a.env.get('reads-chained')).not.toEqual(b.env.get('reads-chained'));
  });

  it('gives no hook an image name when no environment.d reads one', async () => {
    const { cache, env } = await hookEnvs([await elementWith('plain', 'echo hi', 'export FIXED=1\n')], 'controller');
    expect(cache.imageVarsInEnvironmentD).toBe(false);
    expect(env.get('plain')!.IMAGE_NAME).toBeUndefined();
  });
});
