// Where a build's archive state (distro/archive-state.ts) comes from, chosen
// with --archive-state or IMGFACTORY_ARCHIVE_STATE:
//
//   live     (default) read from the archive now; after the build succeeds,
//            kept in the cache as the state these suites were last seen in
//   cached   the state this cache kept for these suites, the archive not read
//            (offline work: keep what is cached); a note says so
//   FILE     the state in FILE: one the cache keeps, or a build's manifest
//            (pins every build of a pipeline, or of a test run, to one state)
//
//   <cache>/archive-v1/<sha256 of the suites' names and mirrors>.json   {v, suites}
//
// A state not read now is bound to the suites it describes: a record or file
// of other suites or mirrors is refused, never used for these.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../cache/canonical-json.js';
import { sha256Buffer } from '../cache/digest.js';
import { ARCHIVE_DIR } from '../cache/format.js';
import { readArchiveState } from '../distro/archive-fetch.js';
import { ARCHIVE_STATE_TAG, releaseUrls, stateFileSuites, suitesMismatch, type ArchiveState, type ArchiveStateFile, type SuiteState } from '../distro/archive-state.js';
import type { ArchiveSuite } from '../distro/sources.js';
import { FailureError } from '../failure.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export type ArchiveStateMode = { kind: 'live' } | { kind: 'cached' } | { kind: 'file'; file: string };

/** `--archive-state`'s value: live, cached, or a file's path. */
export function parseArchiveStateMode(raw: string): ArchiveStateMode {
  if (raw === 'live' || raw === 'cached') return { kind: raw };
  if (raw === '') throw new FailureError({ reason: 'usage', message: '--archive-state needs a value', hint: 'live (read the archive), cached (what this cache recorded), or a state file or manifest' });
  return { kind: 'file', file: path.resolve(raw) };
}

export interface ArchiveSource {
  /** The state this build's network steps are keyed with; read once, when the build plans one. */
  read(): Promise<ArchiveState>;
  /** After the build succeeded: keep a state read live in the cache, for a later `--archive-state cached`. */
  record(): Promise<void>;
}

export interface ArchiveSourceOptions {
  mode: ArchiveStateMode;
  suites: ArchiveSuite[];
  /** null with --no-cache. */
  cacheDir: string | null;
  note: (message: string) => void;
  signal?: AbortSignal;
}

export function archiveSource(o: ArchiveSourceOptions): ArchiveSource {
  let state: Promise<ArchiveState> | undefined;
  return {
    read: () => (state ??= stateFor(o)),
    async record() {
      const read = state ? await state : null;
      if (read?.from !== 'archive' || o.cacheDir === null) return;
      const file: ArchiveStateFile = { v: ARCHIVE_STATE_TAG, suites: read.suites };
      await mkdir(path.join(o.cacheDir, ARCHIVE_DIR), { recursive: true });
      await writeFileAtomic(recordPath(o.cacheDir, o.suites), `${JSON.stringify(file, null, 2)}\n`);
    },
  };
}

async function stateFor(o: ArchiveSourceOptions): Promise<ArchiveState> {
  switch (o.mode.kind) {
    case 'live':
      return { from: 'archive', suites: await readArchiveState(o.suites, o.signal) };
    case 'cached': {
      const suites = o.cacheDir === null ? null : await recorded(o.cacheDir, o.suites);
      if (!suites) {
        throw new FailureError({
          reason: 'usage',
          message: `--archive-state cached: ${o.cacheDir === null ? 'there is no cache (--no-cache)' : `the cache ${o.cacheDir} has recorded no state of ${describeSuites(o.suites)}`}`,
          hint: 'build once with the archive reachable (--archive-state live, the default): each build that reads the archive records its state in the cache',
        });
      }
      o.note(`archive state: the one this cache recorded (${describeState(suites)}); the archive was not read (--archive-state cached)`);
      return { from: 'cache', suites };
    }
    case 'file': {
      const suites = await fromFile(o.mode.file, o.suites);
      o.note(`archive state: from ${o.mode.file} (${describeState(suites)}); the archive was not read`);
      return { from: 'file', suites };
    }
  }
}

/** The record of `suites` in the cache: named by what it describes, and checked to describe it. */
function recordPath(cacheDir: string, suites: ArchiveSuite[]): string {
  const identity = sha256Buffer(canonicalJson(suites.map((s) => ({ suite: s.suite, mirror: s.mirror })))).replace(/^sha256:/, '');
  return path.join(cacheDir, ARCHIVE_DIR, `${identity}.json`);
}

async function recorded(cacheDir: string, suites: ArchiveSuite[]): Promise<SuiteState[] | null> {
  const text = await readFile(recordPath(cacheDir, suites), 'utf8').catch(() => null);
  if (text === null) return null;
  let parsed: SuiteState[] | { problem: string };
  try {
    parsed = stateFileSuites(JSON.parse(text));
  } catch {
    return null;
  }
  return Array.isArray(parsed) && suitesMismatch(parsed, suites) === null ? parsed : null;
}

async function fromFile(file: string, suites: ArchiveSuite[]): Promise<SuiteState[]> {
  const bad = (message: string): FailureError =>
    new FailureError({ reason: 'usage', message: `--archive-state ${file}: ${message}`, hint: 'give a state file the cache keeps (<cache>/archive-v1/*.json) or a manifest of a build that recorded one' });
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw bad(e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message));
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON: ${(e as Error).message}`);
  }
  const parsed = stateFileSuites(value);
  if (!Array.isArray(parsed)) throw bad(parsed.problem);
  const mismatch = suitesMismatch(parsed, suites);
  if (mismatch) throw bad(mismatch);
  return parsed;
}

const describeSuites = (suites: ArchiveSuite[]): string => suites.map((s) => `${s.suite} (${releaseUrls(s).inRelease})`).join(', ');
const describeState = (suites: SuiteState[]): string => suites.map((s) => `${s.suite} of ${s.date}`).join(', ');
