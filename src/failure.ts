// Expected failures as values: every way a build can go wrong that a user can
// fix is a `Failure`, tagged by `reason`. Code deep in the build throws a
// `FailureError` carrying one; the CLI renders each reason in one switch
// (src/cli/render-failure.ts) and maps its kind to an exit code.
import { constants } from 'node:os';

/** Where in an element a problem sits: the CLI prints it as `element: file:line`. */
export interface Location {
  element?: string;
  file?: string;
  line?: number;
}

export type Failure =
  | { reason: 'usage'; message: string; hint?: string }
  | { reason: 'not-implemented'; what: string; issue: string }
  | { reason: 'element-not-found'; name: string; requiredBy?: string; searchPath: string[]; nearMisses: string[] }
  | { reason: 'duplicate-provides'; name: string; providers: [string, string] }
  | { reason: 'requested-is-provided'; name: string; provider: string }
  | { reason: 'no-operating-system'; distro?: string }
  | { reason: 'self-dependency'; element: string; file: string }
  | { reason: 'malformed-element'; at: Location; message: string }
  | { reason: 'bad-distro'; distro: string; file?: string; message: string; known?: string[] }
  | { reason: 'duplicate-hook'; phase: string; script: string; elements: [string, string] }
  | { reason: 'host-missing'; what: string; hint: string }
  /** The archive's state (distro/archive-fetch.ts) could not be read at `url`: no answer, an HTTP error, or not a release file. */
  | { reason: 'archive-unreachable'; url: string; message: string }
  /**
   * A network step fetched another state of the archive than its key holds
   * (engine/archive-check.ts): the archive published since that state was
   * read, or no longer serves it. Its layer was not stored.
   */
  | { reason: 'archive-moved'; step: string; from: 'archive' | 'cache' | 'file'; suites: { suite: string; keyed: string; found: string }[] }
  | { reason: 'bootstrap-failed'; distro: string; exitCode: number | null; logTail: string[]; logPath: string }
  | {
      reason: 'hook-failed';
      element: string;
      phase: string;
      script: string;
      exitCode: number | null;
      signal?: string;
      logTail: string[];
      logPath: string;
      /** What the log suggests went wrong (a hook outside the tree writing on the read-only host). */
      hint?: string;
    }
  | {
      /** A hook failed because it needs a host this build environment cannot reach (steps/unreachable.ts). */
      reason: 'host-unreachable';
      element: string;
      phase: string;
      script: string;
      host: string;
      port: number;
      url?: string;
      /** The client's own message, from the hook's log. */
      line: string;
      logPath: string;
    }
  /** A step offered secrets left one's bytes in its layer: the layer was neither stored nor put on the tree. */
  | { reason: 'secret-in-layer'; element: string; phase: string; script: string; secrets: string[] }
  | { reason: 'unknown-package'; packages: { name: string; element: string }[]; phase: string; logPath: string }
  /** SIGINT or SIGTERM cut the work short; `during`: what it was doing (`running hook x/install.d/10-y`). */
  | { reason: 'interrupted'; signal: string; during?: string }
  /**
   * A filesystem the build writes to filled up. `mountPoint`: where that
   * filesystem is mounted; `role`: what the build keeps there (the build
   * directory, the cache, the outputs); `needed`: bytes the work in flight
   * was about to write, when known.
   */
  | { reason: 'no-space'; mountPoint: string; role: SpaceRole; free: number; during: string; needed?: number }
  | { reason: 'integrity'; what: string; expected: string; found: string }
  | { reason: 'io'; what: string; message: string }
  | { reason: 'layer-unpackable'; source: string; path: string; message: string }
  | { reason: 'layer-invalid'; entry: string; message: string }
  | { reason: 'bad-layout'; file: string; partition?: string; message: string }
  | { reason: 'tool-failed'; tool: string; args: string[]; exitCode: number | null; signal?: string; stderrTail: string[] }
  | { reason: 'image-too-small'; what: string; needed: number; available: number }
  | { reason: 'tree-missing'; what: string; hint: string }
  /** A file in the image's tree that imgfactory reads (not runs) says something it cannot read (image/grub-defaults.ts). */
  | { reason: 'tree-config'; file: string; line: number; message: string; hint: string }
  | { reason: 'lock-timeout'; what: string; holder: string; waitedMs: number }
  | { reason: 'remote-cache'; ref: string; message: string; status?: number }
  | { reason: 'manifest-invalid'; file: string; field: string; message: string }
  | { reason: 'verify-failed'; manifest: string; problems: string[] }
  /** `build --check`: the rebuild from nothing gave other bytes than the build that wrote `manifest`. */
  | { reason: 'not-reproducible'; manifest: string; differences: string[] }
  | { reason: 'bad-key'; what: string; message: string; hint?: string }
  | { reason: 'cloud-config'; message: string; hint?: string }
  /** Half the signing material was given (`given`), the other half (`missing`) not: publish would have uploaded unsigned. */
  | { reason: 'signing-incomplete'; given: string; missing: string; hint: string }
  /** `publish --image-url`: the URL does not serve the output (unreachable, an HTTP error, another size), checked before any cloud is touched. */
  | { reason: 'image-url-refused'; url: string; output: string; problem: string }
  | { reason: 'publish-failed'; step: string; status?: number; message: string; leftBehind?: string }
  | { reason: 'signature-rejected'; image: string; message: string; deleted: boolean }
  /** A publish or prune over many clouds that failed in some: each one's failure; the report (--json, --report) has the rest. */
  | { reason: 'clouds-incomplete'; action: 'publish' | 'prune'; failed: { cloud: string; failure: Failure }[]; succeeded: string[] }
  /** `imgfactory test`: the console did not show what was expected in time (or qemu ended). */
  | {
      reason: 'boot-failed';
      image: string;
      firmware: string;
      accel: string;
      seconds: number;
      timeoutSeconds: number;
      ended: 'timeout' | 'qemu-exited' | 'silent';
      expected: string;
      consoleTail: string[];
      consoleLog?: string;
    }
  /** `publish --require-test`: no passing, validly signed test of this exact manifest. */
  | { reason: 'test-not-passed'; manifest: string; message: string; hint?: string };

/** The places a build writes to, each on some filesystem that can fill up. */
export type SpaceRole = 'build directory' | 'in-memory scratch' | 'cache' | 'output directory';

/** What kind of failure, and so which exit code (documented in README.md). */
export type FailureKind = 'usage' | 'build' | 'integrity' | 'publish' | 'not-implemented';

export const EXIT_CODES: Record<FailureKind, number> = {
  build: 1,
  usage: 2,
  integrity: 3,
  publish: 4,
  'not-implemented': 64,
};

/**
 * The exit code of a command that ends with `failure`: its kind's, except for
 * an interruption, which exits as a shell reports a process killed by the
 * signal: 128 + its number (130 for SIGINT, 143 for SIGTERM).
 */
export function exitCodeOf(failure: Failure): number {
  return failure.reason === 'interrupted' ? signalExitCode(failure.signal) : EXIT_CODES[kindOf(failure)];
}

/** 128 + the number of `signal` (SIGTERM's when the name is unknown). */
export function signalExitCode(signal: string): number {
  return 128 + (constants.signals[signal as NodeJS.Signals] ?? constants.signals.SIGTERM);
}

export function kindOf(failure: Failure): FailureKind {
  switch (failure.reason) {
    case 'usage':
    case 'element-not-found':
    case 'duplicate-provides':
    case 'requested-is-provided':
    case 'no-operating-system':
    case 'self-dependency':
    case 'malformed-element':
    case 'bad-distro':
    case 'duplicate-hook':
    case 'bad-layout':
    case 'image-too-small':
    case 'tree-missing':
    case 'tree-config':
    case 'bad-key':
    case 'cloud-config':
    case 'signing-incomplete':
    case 'image-url-refused':
      return 'usage';
    case 'not-implemented':
      return 'not-implemented';
    case 'integrity':
    case 'layer-invalid':
    case 'manifest-invalid':
    case 'verify-failed':
    case 'not-reproducible':
    case 'signature-rejected':
      return 'integrity';
    case 'host-missing':
    case 'archive-unreachable':
    case 'archive-moved':
    case 'bootstrap-failed':
    case 'hook-failed':
    case 'host-unreachable':
    case 'secret-in-layer':
    case 'unknown-package':
    case 'interrupted':
    case 'no-space':
    case 'io':
    case 'lock-timeout':
    case 'remote-cache':
    case 'layer-unpackable':
    case 'tool-failed':
    case 'boot-failed':
      return 'build';
    case 'publish-failed':
    case 'clouds-incomplete':
    case 'test-not-passed':
      return 'publish';
    default:
      return unreachable(failure);
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: Failure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(error: Failure): Result<T> => ({ ok: false, error });

/** Carries a Failure through code that cannot return a Result (streams, callbacks). */
export class FailureError extends Error {
  constructor(readonly failure: Failure) {
    super(`${failure.reason}: ${JSON.stringify(failure)}`);
    this.name = 'FailureError';
  }
}

/** Unwraps a Result or throws its Failure. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new FailureError(result.error);
}

export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
