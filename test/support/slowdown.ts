// How much slower this machine is right now than the one the suite's time
// limits were set on, so that those limits hold on a loaded or slow CI
// runner too. Measured once per run (global-setup.ts) by a small fixed
// workload — hashing, writing and reading back a file with fsync, starting
// processes — and by the load average per CPU (a share of the CPUs is what a
// boot under TCG gets when others want them too); the larger of the two is
// handed to every test file as IMGFACTORY_TEST_SLOWDOWN. Limits only ever
// grow: a fast, idle machine keeps the written ones. No test asserts a time;
// this only decides how long a test waits before failing.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The workload's time on the build host (2 cores) with nothing else running, ms. */
export const REFERENCE_MS = 1000;
/** A limit is stretched at most this much: beyond, the machine is not fit to run the suite. */
const MAX_FACTOR = 8;
const ROUNDS = 3;

/** vitest's default limits for a test and a hook (vitest.config.ts), before scaling. */
export const TEST_TIMEOUT_MS = 60_000;
export const HOOK_TIMEOUT_MS = 600_000;

/** One round of the workload in `dir`, ms. */
async function workload(dir: string): Promise<number> {
  const start = performance.now();
  const data = Buffer.alloc(64 << 20, 7);
  for (let i = 0; i < 4; i++) createHash('sha256').update(data).digest();
  const file = path.join(dir, 'calibration.bin');
  const f = await open(file, 'w');
  try {
    await f.write(data);
    await f.write(data);
    await f.sync();
  } finally {
    await f.close();
  }
  await readFile(file);
  await rm(file);
  for (let i = 0; i < 20; i++) execFileSync('true');
  return performance.now() - start;
}

export interface Calibration {
  /** The workload's median time here, ms. */
  ms: number;
  /** The 1-minute load average per CPU when it ran. */
  loadPerCpu: number;
  /** What every time limit is multiplied by. */
  factor: number;
}

/** Runs the workload a few times in `dir`; its median time against the reference, or the load per CPU if larger, is the factor. */
export async function calibrate(dir: string): Promise<Calibration> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await workload(dir));
  const ms = times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
  const loadPerCpu = os.loadavg()[0]! / os.availableParallelism();
  const factor = Math.min(MAX_FACTOR, Math.max(1, ms / REFERENCE_MS, loadPerCpu));
  return { ms: Math.round(ms), loadPerCpu: Math.round(loadPerCpu * 100) / 100, factor: Math.round(factor * 100) / 100 };
}

/**
 * This run's factor (1 when no calibration ran, e.g. a test file run on its
 * own without the global setup), times the number of test files that share
 * the machine with this one (IMGFACTORY_TEST_FILES_AT_ONCE, set by
 * vitest.config.ts for the integration files that run side by side): the
 * calibration ran before they started competing for the cores.
 */
export function slowdown(): number {
  const positive = (v: string | undefined): number => {
    const n = Number(v);
    return Number.isFinite(n) && n >= 1 ? n : 1;
  };
  return positive(process.env.IMGFACTORY_TEST_SLOWDOWN) * positive(process.env.IMGFACTORY_TEST_FILES_AT_ONCE);
}

/** A time limit written for the reference machine, stretched for this one. */
export function scaled(ms: number): number {
  return Math.round(ms * slowdown());
}
