// The contract of a step kind, in the manner of BuildKit's ops (an op's cache
// map and its execution side by side) and osbuild's stages. One file per kind
// in this folder implements it, and index.ts registers each in one line: what
// a kind's steps are (`plan`), what goes into their keys (`inputs`), what they
// run (`exec`), where their layer comes from (`layer`) and whether they read
// the network (`network`) or the host (`readsHost`). Nothing else in imgfactory switches on a step's kind.
import type { StepKeyFields } from '../cache/keys.js';
import type { bootstrap } from '../distro/bootstrap.js';
import type { Distro } from '../distro/distro.js';
import type { Element } from '../elements/element.js';
import type { PhaseName } from '../elements/phases.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { Secret, SecretRef } from '../secrets/secret.js';
import type { FileDigest } from '../cache/digest.js';
import type { StepCommon } from './step.js';

/** What the planner knows when it asks a kind for its steps. */
export interface PlanContext {
  elements: Element[];
  distro: Distro;
  /** What package-installs' conditions are decided with: the declared variables, with what environment.d sets over them (engine/condition-vars.ts). */
  vars: Record<string, string>;
  /** The DIB phases this build runs (block-device.d runs at disk assembly, not as a tree step). */
  phases: readonly PhaseName[];
  /** The element providing operating-system, whose root.d makes the tree; null: the distro's bootstrap does. */
  osElement: string | null;
}

/** Everything a step's key is made of except the chain (parent key and layer), and the environment it runs with. */
export type StepInputs = Omit<StepKeyFields, 'parent' | 'parentLayer'> & {
  /** The environment the step runs with (keyed as `env`, host paths blanked). */
  runEnv: Record<string, string>;
  /** Every volatile path on the search path (ImageGraph.volatileScope): a change none of them matches is keyed as `volatileFree` (engine/chain.ts). */
  volatileScope: string[] | null;
};

/** The build's inputs, the same for every step. */
export interface InputContext {
  distro: Distro;
  elements: Element[];
  imageName: string;
  hooksDir: string;
  declared: Record<string, string>;
  sourceDateEpoch: number | null;
  /** DIB's shell library directory when installed (dib-runtime.ts), else null. */
  dibLib: string | null;
  /** The build's secrets without their values: hook steps are offered them, and keyed by their ids. */
  secrets: readonly SecretRef[];
  /** Every volatile path of every element on the search path (ImageGraph.volatileScope). */
  volatileScope: readonly string[];
}

/** Precomputed once per build (inputs.ts): digests of elements and of the shared hook environment. */
export interface InputCache {
  /** Each element's files but its hooks and README: what a hook that reads other elements' files is keyed by. */
  elementDigest: Map<string, FileDigest>;
  /** What an element's own hooks are keyed by: elementDigest, less its os-apply-config/ and os-refresh-config/ unless its files name them (inputs.ts). */
  ownDigest: Map<string, FileDigest>;
  /** environment.d snippets and bin/ tools of the merged hooks tree, and DIB's lib: every hook sees them. */
  sharedEnv: FileDigest;
  /** Elements whose files mention IMAGE_NAME, IMAGE_ELEMENT or get_image_element_array, or what an environment.d snippet sets from them. */
  readsImageVars: Set<string>;
  /** Whether an environment.d snippet reads the image's variables: then every other element's hooks get DIB's default (hook-env.ts UNNAMED_IMAGE). */
  imageVarsInEnvironmentD: boolean;
  /** Elements whose hooks read other elements' files (get_image_element_array, IMAGE_ELEMENT_YAML, the merged os-apply-config/ and os-refresh-config/ directories): keyed by every element. */
  readsOtherElements: Set<string>;
}

/** Makes a distro's base tree (mmdebstrap in a real build; tests hand in another). */
export type Bootstrapper = typeof bootstrap;

/** Where and with what a step runs. */
export interface ExecContext {
  /** The root tree so far; never written by a step (its change goes to `upper`). */
  tree: string;
  /** The overlay's directories: `upper` receives the step's change. */
  upper: string;
  work: string;
  merged: string;
  /** The merged hooks tree on the host (bound at IN_TARGET_HOOKS inside). */
  hooksDir: string;
  logFile: string;
  sandbox: Sandbox;
  bootstrap: Bootstrapper;
  sourceDateEpoch: number | null;
  /** The build's secrets, for the kinds that offer them to what they run (hooks). */
  secrets: readonly Secret[];
  /** Host directories besides the tree and the hooks tree that steps run outside may write (hook-env.ts outsideWritable). */
  hostWritable: readonly string[];
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  signal: AbortSignal;
}

export interface StepKind<S extends StepCommon & { kind: string }> {
  readonly kind: S['kind'];
  /** Whether the step reads the network (the archive): `--refresh` rebuilds it and everything after it. */
  network(step: S): boolean;
  /**
   * Whether what it makes depends on the host beyond its inputs (a hook run
   * outside the tree reads whatever it likes there): such a step runs in
   * every build and is keyed by the layer it made (keys.ts hostResult).
   */
  readsHost(step: S): boolean;
  /** What its layer is: the change in the overlay's upper dir, or the whole tree it made there (the base). */
  readonly layer: 'upper' | 'tree';
  /** Its steps in this build, in any order: the planner orders and checks them (src/plan/plan.ts). Pure. */
  plan(ctx: PlanContext): S[];
  /** What the planner should tell a person about how it planned (an element's hooks replaced, …). */
  notes?(ctx: PlanContext): string[];
  /** Whom a failure or a name clash is laid at: an element, or `package-installs`, `imgfactory`, the distro. */
  owner(step: S): string;
  /** Everything its key is made of but the chain (BuildKit's CacheMap). */
  inputs(step: S, ctx: InputContext, cache: InputCache): Promise<StepInputs>;
  /** Runs it (BuildKit's Exec), leaving its change in `ctx.upper`; a failure throws a FailureError. */
  exec(step: S, runEnv: Record<string, string>, ctx: ExecContext): Promise<void>;
}
