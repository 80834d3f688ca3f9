// The step kinds, registered in one table: adding a kind is one file in this
// folder and one line here. `Step` is the union of the kinds' step types, so
// the compiler holds every kind to the whole StepKind contract.
import { base } from './base.js';
import { finalise } from './finalise.js';
import { hook } from './hook.js';
import type { StepKind } from './kind.js';
import { packages } from './packages.js';

/** In planning order: when two steps of one phase share a script name, the earlier kind's is named first. */
export const STEP_KINDS = { base, packages, hook, finalise } as const;

type StepOf<K> = K extends StepKind<infer S> ? S : never;

export type Step = StepOf<(typeof STEP_KINDS)[keyof typeof STEP_KINDS]>;

/** The kind of `step`, typed for any step. */
export function kindOf(step: Step): StepKind<Step> {
  return STEP_KINDS[step.kind] as unknown as StepKind<Step>;
}

export type { BaseStep } from './base.js';
export type { FinaliseStep } from './finalise.js';
export { installTypeLinks, type HookStep } from './hook.js';
export type { PackageItem, PackagesStep } from './packages.js';
export type { ExecContext, InputCache, InputContext, PlanContext, StepInputs, Bootstrapper } from './kind.js';
export { scriptName, type StepCommon, type StepPhase } from './step.js';
