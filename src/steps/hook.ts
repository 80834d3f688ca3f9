// An element's hook script, run the way dib-run-parts runs it (helper
// `run-hook`: environment.d sourced first), inside the tree or outside it
// according to its phase. Keyed by the script's bytes, its element's other
// files, the shared environment.d and bin/, the declared variables and the
// ids of the secrets it is offered (every hook is; never their values).
import { canonicalJson } from '../cache/canonical-json.js';
import { sha256Buffer, sha256File } from '../cache/digest.js';
import type { Hook } from '../elements/element.js';
import { PHASES, type PhaseName } from '../elements/phases.js';
import { FailureError } from '../failure.js';
import { secretRefs } from '../secrets/secret.js';
import { hookEnv, keyEnv } from './hook-env.js';
import { commonInputs, envOptions, helperDigest } from './inputs.js';
import type { StepKind } from './kind.js';
import { helperPath, runSandboxed, stepFailed } from './sandboxed.js';
import { scriptName, type StepCommon } from './step.js';

export interface HookStep extends StepCommon {
  kind: 'hook';
  phase: PhaseName;
  element: string;
  hook: Hook;
}

/**
 * diskimage-builder's own package-installs element: its hooks are what
 * imgfactory's package steps (packages.ts) do, so they are replaced by them
 * (the two would install the same packages twice and clash on
 * install.d/01-package-installs). Its bin/ stays on PATH.
 */
const REPLACED: Record<string, string> = {
  'package-installs': "its hooks are replaced by imgfactory's own package steps, which read the same package-installs files",
};

export const hook: StepKind<HookStep> = {
  kind: 'hook',
  // root.d makes or adapts the tree from downloads (debootstrap's, debian-minimal's, a cloud image element's): --refresh runs it again.
  network: (step) => step.phase === 'root.d',
  // extra-data.d is DIB's phase for copying data in from the host ("SSH keys, http proxy settings and the like", into
  // $TMP_HOOKS_PATH): what it reads is named nowhere, so it runs every build and is keyed by what it wrote.
  readsHost: (step) => step.phase === 'extra-data.d',
  layer: 'upper',
  plan: ({ elements, phases }) =>
    PHASES.filter((p) => phases.includes(p.name)).flatMap(({ name: phase, place }) =>
      elements
        .filter((element) => !(element.name in REPLACED))
        .flatMap((element) =>
          (element.hooks[phase] ?? []).map(
            (h): HookStep => ({
              kind: 'hook',
              id: `${element.name}/${phase}/${h.name}`,
              phase,
              place,
              element: element.name,
              hook: h,
            }),
          ),
        ),
    ),
  notes: ({ elements }) => elements.filter((e) => e.name in REPLACED && Object.keys(e.hooks).length > 0).map((e) => `${e.name} (${e.dir}): ${REPLACED[e.name]}`),
  owner: (step) => step.element,
  async inputs(step, ctx, cache) {
    const elements = ctx.elements.map((e) => ({ name: e.name, dir: e.dir }));
    const image = cache.readsImageVars.has(step.element) ? { name: ctx.imageName, elements } : undefined;
    const runEnv = hookEnv({ ...envOptions(step, ctx), ...(image ? { image } : {}) });
    const own = cache.elementDigest.get(step.element)!;
    return {
      ...commonInputs(step, ctx),
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
