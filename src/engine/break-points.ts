// diskimage-builder's debugging habit: the variable `break` (a comma list, as
// DIB's check_break reads it) names points where the build stops and opens a
// shell for the person at the terminal, in the sandbox, with the hook
// environment:
//   before-<phase>   before the phase's first step (in the tree for the
//                    in-target phases, outside it with TARGET_ROOT otherwise)
//   after-<phase>    after its last step
//   after-error      where a step failed, on the tree as that step left it
// <phase> is DIB's name without `.d` (root, extra-data, pre-install, install,
// post-install, post-root, pre-finalise, finalise, cleanup). block-device.d
// runs when the disk is assembled, not as a tree step: no break there.
//
// What is changed in the shell is thrown away afterwards: it is in no key,
// so keeping it would put unkeyed bytes in the cache. The shell's terminal is
// the one imgfactory was started on (/dev/pts/N, opened by the shell itself:
// the sandbox's process group has no controlling terminal); without one the
// build is refused before it starts.
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { PHASES, type Place } from '../elements/phases.js';
import { FailureError } from '../failure.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { IN_TARGET_HOOKS } from '../steps/hook-env.js';
import type { StepPhase } from '../steps/index.js';
import { resetStepDirs, type BuildDir } from './build-dir.js';
import type { EventSink } from './events.js';

/** DIB's break-point names for the phases that run as tree steps. */
const PHASE_POINTS = new Map(PHASES.filter((p) => p.name !== 'block-device.d').map((p) => [p.name.replace(/\.d$/, ''), p]));

export type BreakPoint = { at: 'before' | 'after'; phase: StepPhase; place: Place } | { at: 'error' };

export interface BreakRequest {
  points: BreakPoint[];
  /** The terminal the shell opens (a /dev/pts/N or /dev/ttyN path). */
  terminal: string;
}

/** The break points `value` names (empty: none); a usage failure for a name DIB does not know. */
export function parseBreak(value: string | undefined): BreakPoint[] {
  const points: BreakPoint[] = [];
  for (const name of (value ?? '').split(',').filter(Boolean)) {
    if (name === 'after-error') {
      points.push({ at: 'error' });
      continue;
    }
    const m = /^(before|after)-(.+)$/.exec(name);
    const phase = m ? PHASE_POINTS.get(m[2]!) : undefined;
    if (!m || !phase) {
      const hint = name.endsWith('block-device')
        ? 'block-device.d runs when the disk is assembled, not as a step of the tree'
        : `break points: after-error, before-<phase>, after-<phase> with <phase> one of ${[...PHASE_POINTS.keys()].join(', ')}`;
      throw new FailureError({ reason: 'usage', message: `break=${value}: "${name}" is not a break point`, hint });
    }
    points.push({ at: m[1] as 'before' | 'after', phase: phase.name, place: phase.place });
  }
  return points;
}

/**
 * The break request of a build started with `env` and these standard streams:
 * null when `break` is unset or empty; a usage failure when it names a point
 * but imgfactory's stdin and stdout are not one terminal (a CI job, a pipe).
 */
export async function breakRequest(env: NodeJS.ProcessEnv, stdin: { isTTY?: boolean; fd: number }, stdout: { isTTY?: boolean }): Promise<BreakRequest | null> {
  const points = parseBreak(env.break);
  if (points.length === 0) return null;
  const terminal = stdin.isTTY && stdout.isTTY ? await readlink(`/proc/self/fd/${stdin.fd}`).catch(() => null) : null;
  if (!terminal || !/^\/dev\/(pts\/\d+|tty\w*)$/.test(terminal)) {
    throw new FailureError({
      reason: 'usage',
      message: `break=${env.break} opens an interactive shell, but imgfactory is not running on a terminal`,
      hint: 'run it from a terminal (stdin and stdout), or unset break',
    });
  }
  return { points, terminal };
}

/** The command that opens the shell on `terminal`: bash reads and writes it itself. */
export function shellArgv(terminal: string): string[] {
  return ['/bin/bash', '-c', 'exec /bin/bash -i <>"$1" >&0 2>&0', 'imgfactory-break', terminal];
}

/** Where the points fall between a plan's steps (index i: before step i), and whether a failure opens a shell. */
export interface PlacedBreaks {
  at: Map<number, { name: string; place: Place }[]>;
  /** The first index with a point (the steps before it may come from a tree checkpoint). */
  first: number;
  onError: boolean;
}

/** Places each before-/after- point before the first step of a later phase (DIB checks a phase even when it has no hooks). */
export function placeBreaks(points: BreakPoint[], phases: StepPhase[], order: readonly StepPhase[]): PlacedBreaks {
  const at = new Map<number, { name: string; place: Place }[]>();
  for (const p of points) {
    if (p.at === 'error') continue;
    const rank = order.indexOf(p.phase);
    const found = phases.findIndex((ph) => (p.at === 'before' ? order.indexOf(ph) >= rank : order.indexOf(ph) > rank));
    const i = found < 0 ? phases.length : found;
    at.set(i, [...(at.get(i) ?? []), { name: `${p.at}-${p.phase.replace(/\.d$/, '')}`, place: p.place }]);
  }
  return { at, first: Math.min(phases.length, ...at.keys()), onError: points.some((p) => p.at === 'error') };
}

export interface ShellContext {
  sandbox: Sandbox;
  dir: BuildDir;
  terminal: string;
  emit: EventSink;
}

/**
 * Opens the shell for `point` (its name as DIB prints it) on the tree: on a
 * fresh overlay, or after a failure (`after-error`) on the overlay's upper
 * dir as the failed step left it; whatever changed there is thrown away.
 */
export async function openShell(name: string, place: Place, env: Record<string, string>, ctx: ShellContext): Promise<void> {
  const { dir } = ctx;
  if (name !== 'after-error') await resetStepDirs(dir);
  ctx.emit({ type: 'note', message: `break=${name}: starting a debug shell ${place === 'inside' ? 'in the tree' : 'outside the tree (TARGET_ROOT)'}; exit it to resume the build (what changes in it is not kept)` });
  await ctx.sandbox.run({
    lowerDir: dir.tree,
    upperDir: dir.step.upper,
    workDir: dir.step.work,
    mergedDir: dir.step.merged,
    inside: place === 'inside',
    argv: shellArgv(ctx.terminal),
    env,
    binds: place === 'inside' ? [{ source: dir.hooks, target: IN_TARGET_HOOKS, readOnly: true }] : [],
    resolver: true,
    hostname: 'imgfactory',
    logFile: path.join(dir.logs, `break-${name}.log`),
  });
  await resetStepDirs(dir);
  ctx.emit({ type: 'note', message: `break=${name}: resuming` });
}
