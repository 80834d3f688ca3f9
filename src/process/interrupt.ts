// imgfactory's SIGINT and SIGTERM, owned here and nowhere else. A command
// that can be cut short (the build) calls catchInterrupts() before it does
// anything; from then on the first SIGINT or SIGTERM aborts `interruption`
// (its reason is the signal's name) and everything working for the command
// stops: every program started through run.ts is killed, every sandboxed
// step's process group is killed and its mounts undone (sandbox/step-runner.ts),
// and the phase in flight unwinds through its own clean-up. The command then
// prints one line and exits 128 + the signal's number (130, 143). A second
// signal while that clean-up runs exits at once; what is left then, the next
// build cleans up (engine/build-dir.ts, sandbox/stale.ts).
//
// Commands that never call catchInterrupts() keep Node's default: the
// process dies of the signal.
//
// The reader of the command's output going away (`imgfactory boot --console
// | head`, a CI log collector that died) is the same for a command that
// catches interrupts: its clean-up runs, and it exits 141 (128 + SIGPIPE) as
// a filter killed by SIGPIPE would, instead of leaving its mounts, its
// temporary files (a booted node's metadata, with its passwords) and a qemu
// behind (cli/output.ts).
import { FailureError, signalExitCode, type Failure } from '../failure.js';

export type InterruptSignal = 'SIGINT' | 'SIGTERM' | 'SIGPIPE';
const SIGNALS: readonly InterruptSignal[] = ['SIGINT', 'SIGTERM'];

const controller = new AbortController();

/** Aborted, with the signal's name as its reason, when the process is interrupted (only while caught). */
export const interruption: AbortSignal = controller.signal;

/** The signal that interrupted the process, or null. */
export function interruptedBy(): InterruptSignal | null {
  return interruption.aborted ? (interruption.reason as InterruptSignal) : null;
}

/** The failure of work cut short by the interruption (`during`: what it was doing). */
export function interruptedFailure(during?: string): Failure {
  return { reason: 'interrupted', signal: interruptedBy() ?? 'SIGTERM', ...(during === undefined ? {} : { during }) };
}

/**
 * Throws an `interrupted` failure if the process was interrupted or `signal`
 * (a caller's own abort, whose reason names a signal) was aborted: for work
 * between programs, and after a program that stopped early.
 */
export function throwIfInterrupted(signal?: AbortSignal): void {
  if (interruption.aborted) throw new FailureError(interruptedFailure());
  if (signal?.aborted) throw new FailureError({ reason: 'interrupted', signal: String(signal.reason ?? 'SIGTERM') });
}

let installed: (() => void) | null = null;

/**
 * Makes SIGINT and SIGTERM abort `interruption` instead of killing the
 * process. `onForced` is told of a second signal, just before the process
 * exits without waiting for the clean-up. Returns the function that restores
 * the default; calling this again while installed returns the same one.
 */
export function catchInterrupts(onForced?: (signal: InterruptSignal) => void): () => void {
  if (installed) return installed;
  const handlers = SIGNALS.map((signal) => {
    const handler = (): void => {
      if (!interruption.aborted) return controller.abort(signal);
      onForced?.(signal);
      process.exit(signalExitCode(interruptedBy() ?? signal));
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const release = (): void => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    installed = null;
  };
  installed = release;
  return release;
}

/**
 * The reader of the output went away: interrupts the command as SIGPIPE when
 * it catches interrupts (true: it cleans up and exits itself), else false.
 */
export function interruptOnClosedPipe(): boolean {
  if (!installed) return false;
  if (!interruption.aborted) controller.abort('SIGPIPE');
  return true;
}
