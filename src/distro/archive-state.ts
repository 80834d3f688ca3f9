// The state of the archive a build installs from: for each suite (bookworm,
// bookworm-updates, bookworm-security), the `InRelease` file its mirror
// serves (or `Release` where there is none), named by the sha256 of its
// bytes, with the file's `Date:`. That file is signed by the archive and
// names, by hash, every package index of the suite: the same bytes mean the
// same packages, whichever mirror served them; new bytes mean Debian
// published. The keys of the steps that install from the archive hold it
// (cache/keys.ts `archive`), and the manifest records it.
//
// Pure: parsing, comparing, the record format. Reading the files over HTTP is
// archive-fetch.ts; choosing where the state comes from (the archive, the
// cache's record, a file) is engine/archive-source.ts.
import { createHash } from 'node:crypto';
import type { ArchiveSuite } from './sources.js';

/** One suite as a build saw it. */
export interface SuiteState {
  suite: string;
  /** The file read: `<mirror>/dists/<suite>/InRelease` (or `Release`). */
  url: string;
  /** sha256 of the file's bytes, lower-case hex. */
  sha256: string;
  /** Its `Date:` field, as written (RFC 2822, UTC): when the archive published this state. */
  date: string;
}

/** Where a build's archive state came from: read from the archive now, the cache's record (`--archive-state cached`), or a file. */
export type ArchiveStateOrigin = 'archive' | 'cache' | 'file';

export interface ArchiveState {
  from: ArchiveStateOrigin;
  suites: SuiteState[];
}

/** What a layer key holds of the state: per suite, its name and file digest (the URL is left out: a mirror serving the same signed bytes serves the same archive). */
export type ArchiveKey = { suite: string; sha256: string }[];

/** Tag of the state files the cache keeps (and --archive-state FILE reads); bump when their fields change meaning. */
export const ARCHIVE_STATE_TAG = 'imgfactory.archive-state.v1';

/** The file the cache keeps per set of suites: the state of the last build that read it. */
export interface ArchiveStateFile {
  v: typeof ARCHIVE_STATE_TAG;
  suites: SuiteState[];
}

/** Where a suite's release file lives, the signed `InRelease` first. */
export function releaseUrls(s: ArchiveSuite): { inRelease: string; release: string } {
  const dists = `${s.mirror.replace(/\/+$/, '')}/dists/${s.suite}`;
  return { inRelease: `${dists}/InRelease`, release: `${dists}/Release` };
}

/**
 * The `Date:` of an InRelease (clear-signed) or Release file, or a sentence
 * saying why `bytes` are not one (an HTML error page, a truncated file).
 * Only the first paragraph (the release's own fields) is read.
 */
export function releaseDate(bytes: Buffer): { date: string } | { problem: string } {
  let text = bytes.toString('utf8');
  if (text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
    // The armour header lines ("Hash: SHA256") end at the first empty line; the signed text follows.
    const start = text.indexOf('\n\n');
    if (start < 0) return { problem: 'a clear-signed message with no signed text' };
    text = text.slice(start + 2);
  }
  const fields = text.split('\n\n', 1)[0]!.split('\n');
  const date = fields.map((l) => /^Date:\s*(.+?)\s*$/.exec(l)?.[1]).find(Boolean);
  if (!date) return { problem: 'not a Release file (no "Date:" field)' };
  if (Number.isNaN(Date.parse(date))) return { problem: `its "Date:" field "${date}" is not a date` };
  return { date };
}

/** The state of one suite from the bytes read at `url`, or why they are not a release file. */
export function suiteState(suite: string, url: string, bytes: Buffer): SuiteState | { problem: string } {
  const parsed = releaseDate(bytes);
  if ('problem' in parsed) return parsed;
  return { suite, url, sha256: createHash('sha256').update(bytes).digest('hex'), date: parsed.date };
}

/** What the keys of the network steps hold. */
export function archiveKey(state: ArchiveState): ArchiveKey {
  return state.suites.map((s) => ({ suite: s.suite, sha256: s.sha256 }));
}

/** When the archive published the newest of its suites' states, in seconds since the epoch; null for a state of no suites. */
export function archiveDate(state: ArchiveState): number | null {
  const times = state.suites.map((s) => Math.floor(Date.parse(s.date) / 1000));
  return times.length === 0 ? null : Math.max(...times);
}

/** Why a recorded state does not describe the suites a build installs from (another suite, another mirror), or null when it does. */
export function suitesMismatch(recorded: SuiteState[], wanted: ArchiveSuite[]): string | null {
  const have = recorded.map((s) => `${s.suite} (${s.url})`);
  const want = wanted.map((s) => `${s.suite} (${releaseUrls(s).inRelease} or Release)`);
  const same = recorded.length === wanted.length && recorded.every((r, i) => r.suite === wanted[i]!.suite && Object.values(releaseUrls(wanted[i]!)).includes(r.url));
  return same ? null : `it is of ${have.join(', ') || 'no suites'}; this build installs from ${want.join(', ')}`;
}

/**
 * The suites of a state file: one the cache keeps (`{v, suites}`) or a
 * manifest (its `archive.suites`). A sentence saying what is wrong otherwise.
 */
export function stateFileSuites(value: unknown): SuiteState[] | { problem: string } {
  const v = value as { v?: unknown; suites?: unknown; archive?: { suites?: unknown } } | null;
  const suites = v?.v === ARCHIVE_STATE_TAG ? v.suites : v?.archive?.suites;
  if (!Array.isArray(suites) || suites.length === 0) return { problem: `neither an archive state file ("v": "${ARCHIVE_STATE_TAG}") nor a manifest with an "archive" field` };
  for (const [i, s] of suites.entries()) {
    const ok = typeof s === 'object' && s !== null && ['suite', 'url', 'date'].every((k) => typeof s[k] === 'string' && s[k] !== '') && /^[0-9a-f]{64}$/.test(String(s.sha256));
    if (!ok) return { problem: `suite ${i + 1} needs "suite", "url", "date" and a 64-digit hex "sha256"` };
  }
  return (suites as SuiteState[]).map((s) => ({ suite: s.suite, url: s.url, sha256: s.sha256, date: s.date }));
}

/** Where apt keeps the lists it fetched, in a tree. */
export const APT_LISTS_DIR = 'var/lib/apt/lists';

/** Characters apt %-escapes in a list file's name (apt-pkg's URItoFileName), besides spaces, controls and bytes past ASCII. */
const APT_QUOTED = new Set('\\|{}[]<>"^~_=!@#$%^&*');

/**
 * The name of the file apt keeps the release file fetched from `url` in,
 * under APT_LISTS_DIR: the URL without scheme or credentials, apt's reserved
 * characters %-escaped, every `/` made `_` (apt-pkg's URItoFileName).
 * `http://deb.debian.org/debian/dists/bookworm/InRelease` is kept in
 * `deb.debian.org_debian_dists_bookworm_InRelease`.
 */
export function aptListName(url: string): string {
  // As apt parses a sources.list URI: scheme, then `//site` (credentials dropped), then the path, all as written.
  const m = /^[a-z][a-z0-9+.-]*:(?:\/\/([^/]*))?(.*)$/i.exec(url);
  const plain = m ? `${(m[1] ?? '').replace(/^.*@/, '')}${m[2]}` : url;
  let quoted = '';
  for (const byte of Buffer.from(plain, 'utf8')) {
    const c = String.fromCharCode(byte);
    quoted += APT_QUOTED.has(c) || byte <= 0x20 || byte >= 0x7f ? `%${byte.toString(16).padStart(2, '0')}` : c;
  }
  return quoted.replace(/\//g, '_');
}

/** A suite a step installed from in another state than its key holds. */
export interface MovedSuite {
  suite: string;
  /** The `Date:` of the state the key holds (and its digest, when the two dates are the same). */
  keyed: string;
  /** The `Date:` of the release file apt fetched (or a sentence when it has none; and its digest, when the two dates are the same). */
  found: string;
}

/**
 * The suites whose release file, as apt fetched it into a tree (`fetched`:
 * list file name -> its bytes, for the files present), is not the one of
 * `state`. A suite whose file is absent is not judged here.
 */
export function movedSuites(state: SuiteState[], fetched: ReadonlyMap<string, Buffer>): MovedSuite[] {
  const moved: MovedSuite[] = [];
  for (const s of state) {
    const bytes = fetched.get(aptListName(s.url));
    const digest = bytes && createHash('sha256').update(bytes).digest('hex');
    if (!bytes || digest === s.sha256) continue;
    const date = releaseDate(bytes);
    const found = 'date' in date ? date.date : `a file of no date (${date.problem})`;
    // Two files of one date (a mirror re-signed, or a state file edited by hand) differ only by their digests.
    const same = found === s.date;
    moved.push({ suite: s.suite, keyed: same ? `${s.date} (sha256 ${s.sha256})` : s.date, found: same ? `${found} (sha256 ${digest})` : found });
  }
  return moved;
}
