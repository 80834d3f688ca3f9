// One step of a build: the unit that is run in the sandbox, cached as a layer
// and reported in the timing table. Steps come in four kinds:
//
//   base      the distro bootstrap (mmdebstrap) -> the first layer
//   packages  apt installs/removals of a phase's package-installs data
//   hook      one element hook script
//   finalise  imgfactory's own last step: empty /tmp, drop apt lists and
//             caches, policy-rc.d and the build-time resolver
import type { Distro } from '../distro/distro.js';
import type { Hook } from '../elements/element.js';
import type { PhaseName, Place } from '../elements/phases.js';

export interface PackageItem {
  /** The name apt sees (after pkg-map). */
  name: string;
  /** The element whose package-installs listed it. */
  element: string;
}

interface StepCommon {
  /** `<element>/<phase>/<file>`, `distro/<name>`, `package-installs/<phase>/<file>` or `builtin/<name>`. */
  id: string;
  /** A DIB phase, or 'base' for the bootstrap and 'finalise-tree' for the last step. */
  phase: PhaseName | 'base' | 'finalise-tree';
  place: Place;
}

export interface BaseStep extends StepCommon {
  kind: 'base';
  phase: 'base';
  distro: Distro;
}

export interface HookStep extends StepCommon {
  kind: 'hook';
  phase: PhaseName;
  element: string;
  hook: Hook;
}

export interface PackagesStep extends StepCommon {
  kind: 'packages';
  phase: PhaseName;
  action: 'install' | 'uninstall';
  packages: PackageItem[];
}

export interface FinaliseStep extends StepCommon {
  kind: 'finalise';
  phase: 'finalise-tree';
}

export type Step = BaseStep | HookStep | PackagesStep | FinaliseStep;

/** The name of a step's script inside its phase (what sorts it among hooks). */
export function scriptName(step: Step): string {
  return step.id.slice(step.id.lastIndexOf('/') + 1);
}
