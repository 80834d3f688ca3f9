// An element's hook script, run the way dib-run-parts runs it (helper
// `run-hook`: environment.d sourced first), inside the tree or outside it
// according to its phase. Keyed by the script's bytes, its element's other
// files, the shared environment.d and bin/, the declared variables and the
// ids of the secrets it is offered (every hook is; never their values).
// With DIB's install-types in the image, the hooks of the chosen install
// types (elements/install-types.ts) are install.d steps too, run through the
// link install-types would make (engine/hooks-tree.ts linkInstallTypes).
import { canonicalJson } from '../cache/canonical-json.js';
import { sha256Buffer, sha256File } from '../cache/digest.js';
import type { Element, Hook } from '../elements/element.js';
import { DIB_BOOTLOADER_ELEMENT } from '../elements/dib-bootloader.js';
import { chooseInstallTypes, INSTALL_TYPES_ELEMENT } from '../elements/install-types.js';
import { PHASES, type PhaseName } from '../elements/phases.js';
import { FailureError } from '../failure.js';
import { secretRefs } from '../secrets/secret.js';
import { hookEnv, keyEnv, UNNAMED_IMAGE } from './hook-env.js';
import { readsOnlyItsInputs } from './keyed-extra-data.js';
import { commonInputs, envOptions, helperDigest } from './inputs.js';
import type { Step } from './index.js';
import type { PlanContext, StepKind } from './kind.js';
import { helperPath, runSandboxed, stepFailed } from './sandboxed.js';
import { scriptName, type StepCommon } from './step.js';

export interface HookStep extends StepCommon {
  kind: 'hook';
  phase: PhaseName;
  element: string;
  hook: Hook;
  /**
   * The install.d/<prefix>-<type>-install directory the hook is in, when it
   * is an install type's (then its id is `<element>/install.d/<dir>/<file>`
   * and it runs through the link `install.d/<file> -> <dir>/<file>`); else null.
   */
  installType: string | null;
}

/**
 * diskimage-builder's mechanism elements whose hooks imgfactory does itself,
 * with the note that says so. package-installs: its hooks are what
 * imgfactory's package steps (packages.ts) do (the two would install the
 * same packages twice and clash on install.d/01-package-installs); its bin/
 * stays on PATH.
 */
const REPLACED: Record<string, string> = {
  'package-installs': "its hooks are replaced by imgfactory's own package steps, which read the same package-installs files",
  // Its one hook (extra-data.d/99-enable-install-types) links the chosen types' hooks into install.d for dib-run-parts;
  // here the planner chooses them and plans them as steps, and the links are made before any step runs. Running it as
  // well would only make the same links again, in a step that reads the host and so runs in every build.
  // Its one hook (finalise.d/50-bootloader) runs grub-install against the image's loop device and grub-mkconfig; imgfactory
  // writes GRUB into the disk image itself from files (src/image), and the packages the hook installs are finalise.d
  // package steps (elements/dib-bootloader.ts).
  [DIB_BOOTLOADER_ELEMENT]:
    "its finalise.d/50-bootloader (grub-install on a loop device, grub-mkconfig) is replaced by imgfactory's own boot loader install into the disk image; the GRUB packages it installs are installed in finalise.d",
  [INSTALL_TYPES_ELEMENT]: "its hook is done by imgfactory's planner: the hooks of the chosen install types (DIB_INSTALLTYPE_*, DIB_DEFAULT_INSTALLTYPE) are planned as install.d steps and linked into install.d as it links them",
};

/** The elements whose hooks run as they are. */
const unreplaced = (elements: Element[]): Element[] => elements.filter((e) => !(e.name in REPLACED));

/**
 * The steps of the chosen install types' hooks, and the plain install.d
 * hooks their links replace: DIB's hook links with `ln -sf`, so a link
 * replaces a hook of the same name copied into install.d (deterministic, and
 * an element may rely on it: a plain hook for images without install-types,
 * a typed one for images with it). Two chosen hooks of one name are left to
 * the planner's duplicate check: DIB would keep whichever its `env` or `find`
 * listed last, an order nothing defines.
 */
function installTypePlan(ctx: PlanContext): { steps: HookStep[]; replaced: HookStep[]; unmatched: ReturnType<typeof chooseInstallTypes>['unmatched'] } {
  if (!ctx.phases.includes('install.d') || !ctx.elements.some((e) => e.name === INSTALL_TYPES_ELEMENT)) return { steps: [], replaced: [], unmatched: [] };
  const chosen = chooseInstallTypes(unreplaced(ctx.elements), ctx.vars);
  const steps = chosen.hooks.map(
    ({ element, dir, hook: h }): HookStep => ({ kind: 'hook', id: `${element}/install.d/${dir}/${h.name}`, phase: 'install.d', place: 'inside', element, hook: h, installType: dir }),
  );
  const linked = new Set(steps.map((s) => s.hook.name));
  const replaced = plainSteps(ctx).filter((s) => s.phase === 'install.d' && linked.has(s.hook.name));
  return { steps, replaced, unmatched: chosen.unmatched };
}

/** Every element's hooks in the phases this build runs, as they are in its phase directories. */
function plainSteps({ elements, phases }: PlanContext): HookStep[] {
  return PHASES.filter((p) => phases.includes(p.name)).flatMap(({ name: phase, place }) =>
    unreplaced(elements).flatMap((element) =>
      (element.hooks[phase] ?? []).map((h): HookStep => ({ kind: 'hook', id: `${element.name}/${phase}/${h.name}`, phase, place, element: element.name, hook: h, installType: null })),
    ),
  );
}

/** The links the planned install-type steps run through: `install.d/<name> -> <dir>/<name>` in the hooks tree. */
export function installTypeLinks(steps: readonly Step[]): { name: string; dir: string }[] {
  return steps.flatMap((s) => (s.kind === 'hook' && s.installType !== null ? [{ name: s.hook.name, dir: s.installType }] : []));
}

export const hook: StepKind<HookStep> = {
  kind: 'hook',
  // root.d makes or adapts the tree from downloads (debootstrap's, debian-minimal's, a cloud image element's): --refresh runs it again.
  network: (step) => step.phase === 'root.d',
  // extra-data.d is DIB's phase for copying data in from the host ("SSH keys, http proxy settings and the like", into
  // $TMP_HOOKS_PATH): what it reads is named nowhere, so it runs every build and is keyed by what it wrote;
  // unless it is one of DIB's own that were read and found to read only their inputs (keyed-extra-data.ts).
  readsHost: (step) => step.phase === 'extra-data.d' && !readsOnlyItsInputs(step.hook.path),
  layer: 'upper',
  plan: (ctx) => {
    const typed = installTypePlan(ctx);
    const replaced = new Set(typed.replaced.map((s) => s.id));
    return [...plainSteps(ctx).filter((s) => !replaced.has(s.id)), ...typed.steps];
  },
  notes: (ctx) => {
    const typed = installTypePlan(ctx);
    const linkedBy = new Map(typed.steps.map((s) => [s.hook.name, s.id]));
    return [
      ...ctx.elements.filter((e) => e.name in REPLACED && Object.keys(e.hooks).length > 0).map((e) => `${e.name} (${e.dir}): ${REPLACED[e.name]}`),
      ...typed.replaced.map((s) => `${s.id} does not run: install-types links ${linkedBy.get(s.hook.name)} over it, as diskimage-builder's \`ln -sf\` does`),
      ...typed.unmatched.map((u) => `${u.variable}=${u.value}: no element has install.d/${u.wanted}, so none of ${u.dirs.join(', ')} runs (as in diskimage-builder)`),
      ...(ctx.elements.some((e) => e.name === INSTALL_TYPES_ELEMENT)
        ? []
        : unreplaced(ctx.elements)
            .filter((e) => e.installTypes.length > 0)
            .map((e) => `${e.name} has install types (${e.installTypes.map((t) => `install.d/${t.dir}`).join(', ')}), but the image does not include install-types: their hooks do not run, as in diskimage-builder`)),
    ];
  },
  owner: (step) => step.element,
  async inputs(step, ctx, cache) {
    const elements = ctx.elements.map((e) => ({ name: e.name, dir: e.dir }));
    const image = cache.readsImageVars.has(step.element) ? { name: ctx.imageName, elements } : cache.imageVarsInEnvironmentD ? UNNAMED_IMAGE : undefined;
    const runEnv = hookEnv({ ...envOptions(step, ctx), ...(image ? { image } : {}) });
    const own = cache.ownDigest.get(step.element)!;
    return {
      ...commonInputs(step, ctx),
      // An install type's hook: its own file (not the link's name), and `script` (its id) names its directory. What chose it
      // (DIB_INSTALLTYPE_*, DIB_DEFAULT_INSTALLTYPE) is not a field of its own: a changed choice runs another file, so it
      // changes `script` and `scriptDigest` here and the chain after; and the variables themselves, which any hook may read,
      // already reach every hook's key (declared ones in `env`, environment.d's defaults in `environmentD`, DIB's default
      // `source` in `env`), so a step whose bytes they could change is keyed by them whether it is an install type's or not.
      scriptDigest: sha256Buffer(canonicalJson({ hook: await sha256File(step.hook.path), runner: await helperDigest(ctx, 'run-hook') })),
      // A hook that walks every element's directory (DIB's modprobe, pkg-map) reads their files: all of them are its input.
      elementDigest: cache.readsOtherElements.has(step.element) ? sha256Buffer(canonicalJson({ own, image: Object.fromEntries(cache.elementDigest) })) : own,
      env: keyEnv(runEnv, ctx.hooksDir, elements),
      environmentD: cache.sharedEnv,
      packages: null,
      // Every hook is offered the build's secrets (their values are never keyed).
      secrets: secretRefs(ctx.secrets),
      runEnv,
    };
  },
  async exec(step, runEnv, ctx) {
    const outcome = await runSandboxed(step, ['/bin/bash', helperPath(step, ctx, 'run-hook'), step.phase, scriptName(step)], runEnv, ctx, ctx.secrets);
    if (outcome.exitCode !== 0) throw new FailureError(await stepFailed(step, step.element, outcome, ctx.logFile));
  },
};
