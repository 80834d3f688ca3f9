// What a build is doing at each moment, and the one place that explains a
// failure which cuts it short in those terms. After SIGINT or SIGTERM
// (process/interrupt.ts), whatever unwound the build is reported as the
// interruption of the work in flight. A full filesystem (ENOSPC or EDQUOT
// from Node, a program that said "No space left on device", or a program
// that failed while a filesystem it writes to is full) is reported as
// `no-space`: the filesystem's mount point, what the build keeps there, what
// it was doing, and how much that work was about to write when it can tell.
import { realpath, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { FailureError, type Failure, type SpaceRole } from '../failure.js';
import { interruption, interruptedFailure } from '../process/interrupt.js';
import { isAtOrUnder, readMountInfo } from '../sandbox/mountinfo.js';

/** One piece of work of the build. */
export interface Work {
  /** What it is, as it reads after "while": `running rec-a/install.d/10-rec-a`. */
  what: string;
  /** Where it writes, the likeliest place to fill up first. */
  writesTo: SpaceRole[];
  /** About how many bytes it writes, when that can be told (asked only after the disk filled up). */
  estimate?: () => Promise<number | undefined>;
}

/** Where the build keeps each kind of thing (absent: this build keeps none). */
export type Places = Partial<Record<SpaceRole, string>>;

/** A filesystem with less than this free counts as full (a program may have freed a little on its way out). */
const FULL_BYTES = 4 * 1024 * 1024;
/** How programs say it: the errno names and texts, and GNU tar's short write. */
const NO_SPACE_TEXT = /\bENOSPC\b|\bEDQUOT\b|No space left on device|Disk quota exceeded|Wrote only \d+ of \d+ bytes/i;
/** Failures of programs, whose own words may not have reached a log on a full disk. */
const PROGRAM_FAILURES: ReadonlySet<Failure['reason']> = new Set(['hook-failed', 'bootstrap-failed', 'tool-failed', 'io']);

/** The build's current work, set as each piece begins. */
export class Doing {
  private work: Work = { what: 'starting the build', writesTo: ['build directory'] };

  now(work: Work): void {
    this.work = work;
  }

  get current(): Work {
    return this.work;
  }
}

/** What to throw for `error`, which cut the build short during `work`: an interruption, a full disk, or the error itself. */
export async function explainFailure(error: unknown, work: Work, places: Places, signal?: AbortSignal): Promise<unknown> {
  if (interruption.aborted || signal?.aborted) {
    const failure = interruption.aborted ? interruptedFailure(work.what) : { reason: 'interrupted' as const, signal: String(signal?.reason ?? 'SIGTERM'), during: work.what };
    return new FailureError(failure);
  }
  if (error instanceof FailureError && (error.failure.reason === 'interrupted' || error.failure.reason === 'no-space')) return error;
  const evidence = noSpaceEvidence(error);
  const candidates = (await Promise.all(work.writesTo.map((role) => placeInfo(role, places[role])))).filter((p): p is PlaceInfo => p !== null);
  if (candidates.length === 0) return error;
  let place: PlaceInfo | undefined;
  if (evidence?.path !== undefined) place = await placeOf(evidence.path, places);
  place ??= candidates.reduce((a, b) => (b.free < a.free ? b : a));
  const programFull = error instanceof FailureError && PROGRAM_FAILURES.has(error.failure.reason) && place.free < FULL_BYTES;
  if (evidence === null && !programFull) return error;
  const needed = await work.estimate?.().catch(() => undefined);
  return new FailureError({
    reason: 'no-space',
    mountPoint: place.mountPoint,
    role: place.role,
    free: place.free,
    during: work.what,
    ...(needed ? { needed } : {}),
  });
}

/** Whether `error` says a filesystem was full, and where when it names a file (the destination of a copy). */
function noSpaceEvidence(error: unknown): { path?: string } | null {
  if (error instanceof FailureError) return NO_SPACE_TEXT.test(JSON.stringify(error.failure)) ? {} : null;
  const e = error as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  if (e?.code !== 'ENOSPC' && e?.code !== 'EDQUOT' && !NO_SPACE_TEXT.test(String(e?.message ?? ''))) return null;
  const file = e?.dest ?? e?.path;
  return file === undefined ? {} : { path: file };
}

interface PlaceInfo {
  role: SpaceRole;
  mountPoint: string;
  /** Bytes free for root (the build runs as root). */
  free: number;
  device: number;
}

async function placeInfo(role: SpaceRole, dir: string | undefined): Promise<PlaceInfo | null> {
  if (dir === undefined) return null;
  const existing = await nearestExisting(dir);
  const [fs, st] = await Promise.all([statfs(existing), stat(existing)]);
  // What this process may still write: bavail, as df shows it. bfree also counts the blocks reserved
  // for root, which a filesystem mounted with resuid= (this build host's /) keeps even from root.
  return { role, mountPoint: await mountPointOf(existing), free: Number(fs.bavail) * Number(fs.bsize), device: st.dev };
}

/** The place on the same filesystem as `file` (the first, in role order), or undefined. */
async function placeOf(file: string, places: Places): Promise<PlaceInfo | undefined> {
  const device = (await stat(await nearestExisting(file))).dev;
  for (const [role, dir] of Object.entries(places) as [SpaceRole, string][]) {
    const info = await placeInfo(role, dir);
    if (info?.device === device) return info;
  }
  return undefined;
}

/** `p` or its nearest ancestor that exists, resolved. */
async function nearestExisting(p: string): Promise<string> {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    const real = await realpath(dir).catch(() => null);
    if (real !== null || dir === '/') return real ?? '/';
  }
}

/** The mount point of the filesystem holding `dir` (a resolved path). */
async function mountPointOf(dir: string): Promise<string> {
  const holding = (await readMountInfo()).filter((m) => isAtOrUnder(dir, m.mountPoint));
  return holding.reduce((a, b) => (b.mountPoint.length >= a.mountPoint.length ? b : a), { mountPoint: '/' }).mountPoint;
}
