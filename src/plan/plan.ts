// The build plan: every step of an image in the order it runs. Each step kind
// (src/steps/) names its steps; the plan orders them: the base tree first,
// then the phases in diskimage-builder's order; within a phase, the hooks of
// all elements (and the package steps) merged and sorted by numeric prefix,
// then name, in byte order; imgfactory's finalise step last. Two steps of one
// phase with the same script name (two elements shipping the same hook, two
// chosen install types' hooks of one name) are an error.
import type { Distro } from '../distro/distro.js';
import { compareHookNames } from '../elements/hook-name.js';
import { PHASE_NAMES, type PhaseName } from '../elements/phases.js';
import { fail, ok, type Result } from '../failure.js';
import { osElement, type ImageGraph } from '../graph/resolve.js';
import { kindOf, scriptName, STEP_KINDS, type PlanContext, type Step, type StepPhase } from '../steps/index.js';

export interface PlanOptions {
  /** What package-installs' conditions (`when:`, installtype, dib_python_version) are decided with: the declared variables, with environment.d's over them. */
  vars: Record<string, string>;
  /** Phases to leave out (block-device.d runs only when a disk image is assembled). */
  skipPhases?: PhaseName[];
}

export interface Plan {
  distro: Distro;
  steps: Step[];
  /** What a person should know about how the steps were planned. */
  notes: string[];
}

/** Where a phase runs in the build: the base first, the DIB phases in order, imgfactory's finalise last. */
export const PHASE_ORDER: readonly StepPhase[] = ['base', ...PHASE_NAMES, 'finalise-tree'];

export function planBuild(graph: ImageGraph, distro: Distro, options: PlanOptions): Result<Plan> {
  const phases = PHASE_NAMES.filter((p) => !options.skipPhases?.includes(p));
  const ctx: PlanContext = { elements: graph.elements, distro, vars: options.vars, phases, osElement: osElement(graph)?.name ?? null };
  const byPhase = new Map<StepPhase, Step[]>();
  const notes: string[] = [];
  for (const kind of Object.values(STEP_KINDS)) {
    for (const step of (kind.plan as (c: PlanContext) => Step[])(ctx)) byPhase.set(step.phase, [...(byPhase.get(step.phase) ?? []), step]);
    notes.push(...(kind.notes?.(ctx) ?? []));
  }
  const steps: Step[] = [];
  for (const phase of PHASE_ORDER) {
    const inPhase = byPhase.get(phase) ?? [];
    const owner = new Map<string, string>();
    for (const step of inPhase) {
      const other = owner.get(scriptName(step));
      if (other) return fail({ reason: 'duplicate-hook', phase, script: scriptName(step), elements: [other, kindOf(step).owner(step)] });
      owner.set(scriptName(step), kindOf(step).owner(step));
    }
    steps.push(...inPhase.sort((a, b) => compareHookNames(scriptName(a), scriptName(b))));
  }
  return ok({ distro, steps, notes });
}
