// TEST ONLY: lets the fault tests (test/integration/faults.root.test.ts) hold
// a build at one point of a phase, so that a signal or a kill lands while
// that phase is in flight. The environment variable
//
//   IMGFACTORY_TEST_PAUSE=<point>:<marker file>
//
// names the point; a build reaching it creates the marker file and then waits
// until it is interrupted or killed. The points:
//
//   bootstrap  inside mmdebstrap, its /proc, /sys and /dev mounted in the new
//              tree (its extract hook waits)
//   pack       a built step's layer packed into the spool, its key locked,
//              nothing stored yet
//   assembly   the root filesystem of a disk image being made (a waiting
//              program stands in for mkfs.ext4)
//   publish    an output complete under its temp name beside its final
//              name, not renamed yet
//
// A hook in flight needs no help here: a fixture hook that waits is one.
// The variable is read here only. Unset, as it is outside the tests, every
// function below changes nothing.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { interruption, throwIfInterrupted } from './interrupt.js';

export type PausePoint = 'bootstrap' | 'pack' | 'assembly' | 'publish';

const VARIABLE = 'IMGFACTORY_TEST_PAUSE';

/** The marker file if the tests asked to pause at `point`, else null. */
function markerFor(point: PausePoint): string | null {
  const value = process.env[VARIABLE] ?? '';
  const colon = value.indexOf(':');
  return colon > 0 && value.slice(0, colon) === point ? value.slice(colon + 1) : null;
}

/** At `point` in imgfactory's own code: marks it reached and waits for the interruption, then unwinds as interrupted. */
export async function pauseAt(point: PausePoint): Promise<void> {
  const marker = markerFor(point);
  if (marker === null) return;
  writeFileSync(marker, `${point}\n`);
  // A timer keeps the process alive while it waits (a pending promise alone would not).
  const alive = setInterval(() => undefined, 60_000);
  try {
    await new Promise<void>((resolve) => {
      if (interruption.aborted) resolve();
      interruption.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    clearInterval(alive);
  }
  throwIfInterrupted();
}

/**
 * A shell command that marks `point` reached and waits until it is killed, for
 * a point inside a program, and the directory it writes the marker to (which a
 * sandbox that shows the program the host read-only must leave writable); null
 * when not pausing there.
 */
export function pauseCommand(point: PausePoint): { command: string; writes: string } | null {
  const marker = markerFor(point);
  if (marker === null) return null;
  return { command: `echo ${point} > '${marker.replace(/'/g, `'\\''`)}'; exec sleep infinity`, writes: path.dirname(marker) };
}

/** `tool args`, or a program that pauses in its place at `point`. */
export function pausedTool(point: PausePoint, tool: string, args: string[]): [string, string[]] {
  const pause = pauseCommand(point);
  return pause === null ? [tool, args] : ['/bin/sh', ['-c', pause.command]];
}
