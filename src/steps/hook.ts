// An element's hook script, run the way dib-run-parts runs it (helper
// `run-hook`: environment.d sourced first), inside the tree or outside it
// according to its phase. Keyed by the script's bytes, its element's other
// files, the shared environment.d and bin/, and the declared variables.
import { canonicalJson } from '../cache/canonical-json.js';
import { sha256Buffer, sha256File } from '../cache/digest.js';
import type { Hook } from '../elements/element.js';
import { PHASES, type PhaseName } from '../elements/phases.js';
import { FailureError } from '../failure.js';
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

export const hook: StepKind<HookStep> = {
  kind: 'hook',
  network: false,
  layer: 'upper',
  plan: ({ elements, phases }) =>
    PHASES.filter((p) => phases.includes(p.name)).flatMap(({ name: phase, place }) =>
      elements.flatMap((element) =>
        (element.hooks[phase] ?? []).map((h): HookStep => ({ kind: 'hook', id: `${element.name}/${phase}/${h.name}`, phase, place, element: element.name, hook: h })),
      ),
    ),
  owner: (step) => step.element,
  async inputs(step, ctx, cache) {
    const image = cache.readsImageVars.has(step.element) ? { name: ctx.imageName, elements: ctx.elements.map((e) => e.name) } : undefined;
    const runEnv = hookEnv({ ...envOptions(step, ctx), ...(image ? { image } : {}) });
    return {
      ...commonInputs(step, ctx),
      scriptDigest: sha256Buffer(canonicalJson({ hook: await sha256File(step.hook.path), runner: await helperDigest(ctx, 'run-hook') })),
      elementDigest: cache.elementDigest.get(step.element)!,
      env: keyEnv(runEnv, ctx.hooksDir),
      environmentD: cache.sharedEnv,
      packages: null,
      runEnv,
    };
  },
  async exec(step, runEnv, ctx) {
    const outcome = await runSandboxed(step, ['/bin/bash', helperPath(step, ctx, 'run-hook'), step.phase, scriptName(step)], runEnv, ctx);
    if (outcome.exitCode !== 0) throw new FailureError(await stepFailed(step, step.element, outcome, ctx.logFile));
  },
};
