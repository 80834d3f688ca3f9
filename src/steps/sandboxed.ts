// How every kind but the base runs: one of imgfactory's helper scripts (which
// runs a hook, apt, or the finalise cleanup) in the sandbox, on an overlay of
// the tree so far, inside the chroot or outside it with TARGET_ROOT. A failed
// run becomes a Failure naming whom it is laid at, the phase, the script, the
// exit code and the tail of the log.
import path from 'node:path';
import type { Failure } from '../failure.js';
import { throwIfInterrupted } from '../process/interrupt.js';
import type { StepOutcome } from '../sandbox/sandbox.js';
import type { Secret } from '../secrets/secret.js';
import { tailLines } from '../util/tail.js';
import { HELPER_DIR } from './helper-scripts.js';
import { IN_TARGET_HOOKS } from './hook-env.js';
import type { ExecContext } from './kind.js';
import { scriptName, type StepCommon } from './step.js';
import { confirmedUnreached } from './unreachable.js';

/** The path of a helper script as the step sees it (inside: the bound hooks tree). */
export function helperPath(step: StepCommon, ctx: ExecContext, name: string): string {
  return path.join(step.place === 'inside' ? IN_TARGET_HOOKS : ctx.hooksDir, HELPER_DIR, name);
}

/**
 * Runs `argv` for `step` in the sandbox (offered `secrets`, if any); resolves
 * with how it ended, throws `interrupted` when the build was. Run outside the
 * tree, it may write the hooks tree (TMP_HOOKS_PATH, DIB_IMAGE_CACHE's
 * default) and ctx.hostWritable besides the tree.
 */
export async function runSandboxed(step: StepCommon, argv: string[], runEnv: Record<string, string>, ctx: ExecContext, secrets: readonly Secret[] = []): Promise<StepOutcome> {
  const inside = step.place === 'inside';
  const outcome = await ctx.sandbox.run({
    lowerDir: ctx.tree,
    upperDir: ctx.upper,
    workDir: ctx.work,
    mergedDir: ctx.merged,
    inside,
    argv,
    env: runEnv,
    binds: inside ? [{ source: ctx.hooksDir, target: IN_TARGET_HOOKS, readOnly: true }] : [],
    ...(inside ? {} : { hostWritable: [ctx.hooksDir, ...ctx.hostWritable] }),
    ...(secrets.length > 0 ? { secrets } : {}),
    // DIB's root.d runs before /proc, /sys and /dev are mounted: it makes the tree they are mounted in.
    pseudoFs: step.phase !== 'root.d',
    resolver: true,
    hostname: 'imgfactory',
    onLine: ctx.onLine,
    logFile: ctx.logFile,
    signal: ctx.signal,
  });
  throwIfInterrupted(ctx.signal);
  return outcome;
}

/** The failure of a step that ended with `outcome` (not 0), laid at `owner`. */
export function stepFailed(step: StepCommon, owner: string, outcome: StepOutcome, logFile: string): Promise<Failure> {
  return hookFailed({ element: owner, phase: step.phase, script: scriptName(step) }, outcome, logFile, step.place === 'outside');
}

/** Lines of a failed hook's log searched for a client's "cannot reach" message (pip prints its own below it). */
const NETWORK_SCAN_LINES = 200;

/** What a hook run outside the tree may write (src/sandbox/mount-plan.ts hostView), for the hint when it wrote elsewhere. */
const READ_ONLY_HOST =
  'hooks run outside the tree see the host read-only (container sandbox): they may write $TARGET_ROOT, $TMP_HOOKS_PATH, $TMPDIR, a DIB_IMAGE_CACHE given as a path and the directories of --host-writable (docs/security.md)';

/**
 * The failure of a script (a step's, or a block-device.d hook's) that ended
 * with `outcome`: where, how, and its log's tail (with a hint when an
 * outside hook wrote to the read-only host); or, when its log says it could
 * not reach a host and that host does not answer from here either, which
 * host it needed (unreachable.ts).
 */
export async function hookFailed(where: { element: string; phase: string; script: string }, outcome: StepOutcome, logFile: string, outside: boolean): Promise<Failure> {
  const unreached = outcome.signal ? null : await confirmedUnreached(await tailLines(logFile, NETWORK_SCAN_LINES));
  if (unreached) {
    const { host, port, url, line } = unreached;
    return { reason: 'host-unreachable', ...where, host, port, ...(url ? { url } : {}), line, logPath: logFile };
  }
  const logTail = await tailLines(logFile, 20);
  return {
    reason: 'hook-failed',
    ...where,
    exitCode: outcome.exitCode,
    ...(outcome.signal ? { signal: outcome.signal } : {}),
    logTail,
    logPath: logFile,
    ...(outside && logTail.some((l) => l.includes('Read-only file system')) ? { hint: READ_ONLY_HOST } : {}),
  };
}
