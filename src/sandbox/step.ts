// The contract between the build and a sandbox: what one step needs (StepRun)
// and how it ended (StepOutcome). Every sandbox (chroot.ts, container.ts)
// implements `Sandbox`; sandbox.ts registers them and chooses one.
import path from 'node:path';
import type { Secret } from '../secrets/secret.js';

/** A directory or file of the host made visible inside the tree while the step runs. */
export interface Bind {
  source: string;
  /** Absolute path as seen inside the tree, e.g. /tmp/in_target.d. */
  target: string;
  readOnly: boolean;
}

/**
 * One hook script run on the tree so far: on an overlay whose upper dir
 * becomes the step's layer (the default), or on a read-only view of the tree
 * (`tree: 'read-only'`, e.g. block-device.d hooks, which only read the tree);
 * or a program that makes the tree itself (`tree: 'none'`, the bootstrap).
 */
export type StepRun = OverlayRun | ReadOnlyRun | HostRun;
export type OverlayRun = StepCommon & OverlayTree;
export type ReadOnlyRun = StepCommon & ReadOnlyTree;
export type HostRun = StepCommon & NoTree;

export interface OverlayTree {
  tree?: 'overlay';
  /** The root tree so far; never written. */
  lowerDir: string;
  /**
   * Mount /proc, /sys, /dev and /dev/pts in the tree (default true). A step
   * that makes the tree itself (DIB's root.d, debootstrap) gets none, as in
   * diskimage-builder: its device nodes must land in the tree, not on the host's /dev.
   */
  pseudoFs?: boolean;
  /** Empty directory that receives everything the command changes (the step's layer). */
  upperDir: string;
  /** Empty directory on the same filesystem as upperDir, for overlayfs. */
  workDir: string;
}

/** The tree bound read-only at mergedDir: no layer, no /proc, /sys or /dev, no binds, no resolver. */
export interface ReadOnlyTree {
  tree: 'read-only';
  /** The tree to show. */
  lowerDir: string;
}

/**
 * Nothing is mounted: the command runs outside (`inside: false`) and fills
 * mergedDir itself, as the distro's bootstrap makes the first tree. It keeps
 * the sandbox's hold on it all the same: its own process group that dies with
 * imgfactory, and in the container sandbox private mount and PID namespaces,
 * so whatever it mounts in the tree (mmdebstrap mounts /proc, /sys, /dev/pts)
 * or leaves running is gone when it ends, however imgfactory ends. No binds,
 * no resolver, no secrets, no TARGET_ROOT; a TMPDIR of its own. The
 * container sandbox shows it the host read-only but for mergedDir, that
 * TMPDIR and `hostWritable` (mount-plan.ts hostView).
 */
export interface NoTree {
  tree: 'none';
}

export interface StepCommon {
  /** Where the overlay (or the read-only view) is mounted (in whatever namespace); with no tree, the directory the command fills. */
  mergedDir: string;
  /** True: run chrooted in the merged tree; false: on the host, with TARGET_ROOT=mergedDir added to env. */
  inside: boolean;
  /** The command (inside: a path inside the tree). */
  argv: string[];
  /** The complete environment: nothing leaks from the host. */
  env: Record<string, string>;
  binds: Bind[];
  /**
   * Secrets for the command: each a read-only file on a tmpfs that is never
   * part of the tree (`$IMGFACTORY_SECRETS/<id>`, /run/secrets inside), and
   * the variable `<id>` when exported. They never pass through a file of the
   * sandbox's, and what the command prints is masked (src/secrets).
   */
  secrets?: readonly Secret[];
  /**
   * For a command run outside the tree: host directories it may write besides
   * the tree and its own TMPDIR. The container sandbox shows it the rest of
   * the host read-only; the chroot sandbox cannot (docs/security.md).
   */
  hostWritable?: readonly string[];
  /** Make (a private copy of) the host's /etc/resolv.conf visible inside while running. */
  resolver: boolean;
  hostname?: string;
  /** Live output, one call per line (without its newline). */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Everything the command printed is appended here. */
  logFile: string;
  /** Abort: the command's whole process group is killed and every mount undone. */
  signal?: AbortSignal;
}

/** How the command ended: an exit code, or the signal that killed it. */
export interface StepOutcome {
  exitCode: number | null;
  signal: string | null;
}

export interface Sandbox {
  /** Its name in the registry (sandbox.ts). */
  readonly kind: string;
  /** Runs one step. Expected problems (a mount point the tree cannot hold, a missing tool) throw a FailureError. */
  run(step: StepRun): Promise<StepOutcome>;
}

/** Where a command finds its secrets' files, as it sees them. */
export const IN_TREE_SECRETS = '/run/secrets';

/**
 * The environment the command sees: exactly step.env, plus for steps that
 * run outside the tree a TMPDIR of the step's own and, when there is a tree,
 * its path (TARGET_ROOT, and TMP_MOUNT_PATH as diskimage-builder names it
 * too), and where its secrets are. Exported secrets are added by ns-init,
 * never here: this goes into the spec file.
 */
export function commandEnv(step: StepRun, scratch: ScratchLayout): Record<string, string> {
  const tree: Record<string, string> = step.tree === 'none' ? {} : { TARGET_ROOT: step.mergedDir, TMP_MOUNT_PATH: step.mergedDir };
  const env: Record<string, string> = step.inside ? { ...step.env } : { ...step.env, ...tree, TMPDIR: scratch.tmp };
  if (step.secrets && step.secrets.length > 0) env.IMGFACTORY_SECRETS = step.inside ? IN_TREE_SECRETS : scratch.secrets;
  return env;
}

/**
 * A step's scratch directory (state.ts), as far as the command sees it:
 *
 *   <scratch>/tmp               TMPDIR of a command run outside the tree
 *   <scratch>/secrets           the secrets' tmpfs of a command run outside the tree
 *   <scratch>/init/status.json  how the command ended, written by ns-init (which
 *                               must be able to write it when the host is read-only)
 */
export interface ScratchLayout {
  tmp: string;
  secrets: string;
  init: string;
}

export function scratchLayout(scratchDir: string): ScratchLayout {
  return { tmp: path.join(scratchDir, 'tmp'), secrets: path.join(scratchDir, 'secrets'), init: path.join(scratchDir, 'init') };
}
