// The build plan: every step of an image in the order it runs. The base tree
// first, then the phases in diskimage-builder's order; within a phase, the
// hooks of all elements (and the package steps) merged and sorted by
// numeric prefix, then name, in byte order; imgfactory's finalise step last.
// Two elements shipping the same hook name in one phase is an error.
import type { Distro } from '../distro/distro.js';
import { compareHookNames } from '../elements/hook-name.js';
import { PHASES, type PhaseName } from '../elements/phases.js';
import { fail, ok, type Result } from '../failure.js';
import type { ImageGraph } from '../graph/resolve.js';
import { packageSteps } from './packages.js';
import { scriptName, type Step } from './step.js';

export interface PlanOptions {
  /** Declared build variables: package-installs `when:` conditions read them. */
  vars: Record<string, string>;
  /** Phases to leave out (block-device.d runs only when a disk image is assembled). */
  skipPhases?: PhaseName[];
}

export interface Plan {
  distro: Distro;
  steps: Step[];
}

export function planBuild(graph: ImageGraph, distro: Distro, options: PlanOptions): Result<Plan> {
  const steps: Step[] = [{ kind: 'base', id: `distro/${distro.name}`, phase: 'base', place: 'outside', distro }];
  const packages = packageSteps(graph.elements, distro, options.vars);

  for (const { name: phase, place } of PHASES) {
    if (options.skipPhases?.includes(phase)) continue;
    const inPhase: Step[] = packages.filter((s) => s.phase === phase);
    const owner = new Map<string, string>(inPhase.map((s) => [scriptName(s), 'package-installs']));
    for (const element of graph.elements) {
      for (const hook of element.hooks[phase] ?? []) {
        const other = owner.get(hook.name);
        if (other) return fail({ reason: 'duplicate-hook', phase, script: hook.name, elements: [other, element.name] });
        owner.set(hook.name, element.name);
        inPhase.push({ kind: 'hook', id: `${element.name}/${phase}/${hook.name}`, phase, place, element: element.name, hook });
      }
    }
    inPhase.sort((a, b) => compareHookNames(scriptName(a), scriptName(b)));
    steps.push(...inPhase);
  }
  steps.push({ kind: 'finalise', id: 'builtin/finalise-tree', phase: 'finalise-tree', place: 'inside' });
  return ok({ distro, steps });
}
