// What every step has in common: the unit that is run in the sandbox, cached
// as a layer and reported in the timing table. The kinds of step (base,
// packages, hook, finalise, ...) each live in a file of their own in this
// folder, which declares the step's own fields beside its key and its
// execution; `Step` (index.ts) is the union of them all.
import type { PhaseName, Place } from '../elements/phases.js';

/** A DIB phase, or 'base' for the bootstrap and 'finalise-tree' for imgfactory's last step. */
export type StepPhase = PhaseName | 'base' | 'finalise-tree';

export interface StepCommon {
  /** `<element>/<phase>/<file>`, `<element>/install.d/<prefix>-<type>-install/<file>` (an install type's), `distro/<name>`, `package-installs/<phase>/<file>` or `builtin/<name>`. */
  id: string;
  phase: StepPhase;
  place: Place;
}

/** The name of a step's script inside its phase (what sorts it among hooks). */
export function scriptName(step: StepCommon): string {
  return step.id.slice(step.id.lastIndexOf('/') + 1);
}
