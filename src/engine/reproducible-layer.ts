// What makes a step's layer the same bytes on every machine: it is applied to
// a step's change (its overlay upper dir, or the whole tree for the base
// step) after the step ran and before the change is packed. A layer's bytes
// make the next step's key (keys.ts `parentLayer`), so one wall-clock time in
// one layer changes every key after it, the filesystem UUIDs and seeds made
// from the last key, and every output.
//
//   1. Files whose bytes say when or where the build ran are emptied or
//      removed (VOLATILE below, the list mmdebstrap's cleanup/reproducible
//      and mkosi keep): logs with wall-clock times, ldconfig's record of
//      inodes and ctimes, random seeds, a machine id.
//   2. A `.pyc` that Python wrote at import time records its source's mtime,
//      a wall-clock time when the source was written during the build (a
//      postinst's `cp` and `sed`): once that mtime is clamped, the `.pyc` no
//      longer matches it and Python would compile again anyway, so it is
//      removed (one that records an older time, or a hash, is kept: py3compile
//      writes hash-checked ones under SOURCE_DATE_EPOCH).
//   3. Every mtime later than the build's epoch (SOURCE_DATE_EPOCH) becomes
//      the epoch: files a step made keep no wall-clock time, files unpacked
//      from packages keep theirs (Debian's reproducible-builds clamping,
//      `tar --clamp-mtime`). A step that reads the host has every mtime set
//      to the epoch instead: what it copied from the host may carry any time.
//
// The epoch is always known: --source-date-epoch, else the archive state's
// newest Date (buildEpoch), else DEFAULT_EPOCH.
// Invariant: two runs of a step that wrote the same bytes, at any time and
// on any machine, leave the same change to pack.
import { lstat, open, readdir, rm, truncate } from 'node:fs/promises';
import path from 'node:path';
import { archiveDate, type ArchiveState } from '../distro/archive-state.js';
import { volatileMatcher } from '../elements/volatile-paths.js';
import { mustRun } from '../process/run.js';
import { dirIn } from '../util/dir-in.js';

/** The epoch when neither the user nor an archive state gives one: any fixed time would do (2023-11-14). */
export const DEFAULT_EPOCH = 1700000000;

/** Where a build's epoch came from, as the manifest records it. */
export type EpochOrigin = 'given' | 'archive' | 'default';

/** The build's SOURCE_DATE_EPOCH: the one given, else the newest `Date:` of the archive state it installs from. */
export function buildEpoch(given: number | null, archive: ArchiveState | null): { seconds: number; from: EpochOrigin } {
  if (given !== null) return { seconds: given, from: 'given' };
  const date = archive ? archiveDate(archive) : null;
  return date === null ? { seconds: DEFAULT_EPOCH, from: 'default' } : { seconds: date, from: 'archive' };
}

type Volatile = { path: string; becomes: 'removed' | 'emptied' | 'files emptied'; why: string };

/** Paths relative to the tree's root. */
const VOLATILE: readonly Volatile[] = [
  { path: 'var/log', becomes: 'files emptied', why: 'dpkg, apt and update-alternatives log each action with its wall-clock time' },
  { path: 'var/cache/ldconfig/aux-cache', becomes: 'removed', why: "ldconfig's record of the libraries' inodes and ctimes; it makes it again when missing" },
  { path: 'var/cache/apt/pkgcache.bin', becomes: 'removed', why: "apt's binary cache: holds the index files' times; apt makes it again when missing" },
  { path: 'var/cache/apt/srcpkgcache.bin', becomes: 'removed', why: 'likewise' },
  { path: 'var/lib/systemd/random-seed', becomes: 'removed', why: 'random bytes' },
  { path: 'var/lib/systemd/credential.secret', becomes: 'removed', why: 'a random key' },
  { path: 'var/lib/dbus/machine-id', becomes: 'removed', why: 'a random id (when a file, not the link to /etc/machine-id)' },
  { path: 'etc/machine-id', becomes: 'emptied', why: 'a random id; empty means "first boot" to systemd (machine-id(5))' },
];

/**
 * Normalises the change in `dir` (a step's upper dir over `lower`, or with
 * `lower` null a whole tree): removes what the elements' `volatile` paths
 * match, and settles its mtimes: clamped to `epoch`, or with `everyMtime`
 * all set to it. Says which of the `scope` paths (the search path's) and
 * the `volatile` ones matched anything in the change, sorted: a change
 * that held none is the same layer whatever paths an image declares
 * volatile (cache/keys.ts volatileFree), one that held some is the same for
 * every image that removes the same ones among them (volatileHeld).
 */
export async function makeReproducible(
  dir: string,
  lower: string | null,
  epoch: number,
  o: { everyMtime?: boolean; volatile?: readonly string[]; scope?: readonly string[] } = {},
): Promise<{ heldVolatile: string[] }> {
  for (const v of VOLATILE) await normalise(dir, lower, v);
  const heldVolatile: string[] = [];
  for (const pattern of new Set([...(o.scope ?? []), ...(o.volatile ?? [])])) if ((await matching(dir, pattern)).length > 0) heldVolatile.push(pattern);
  // Matched again as they are removed: a pattern inside a directory another pattern removed finds nothing left to remove.
  for (const pattern of o.volatile ?? []) for (const rel of await matching(dir, pattern)) await removeFromChange(dir, lower, rel);
  await dropStalePyc(dir, lower, epoch);
  const clamp = o.everyMtime ? [] : ['-newermt', `@${epoch}`];
  await mustRun('find', [dir, ...clamp, '-exec', 'touch', '-h', '-d', `@${epoch}`, '{}', '+']);
  return { heldVolatile: heldVolatile.sort() };
}

/** `relDir` in the change `dir`, never through a link the step left (util/dir-in.ts); null when it is not a directory there. */
async function dirInChange(dir: string, relDir: string): Promise<string | null> {
  const found = await dirIn(dir, relDir);
  return 'at' in found ? found.at : null;
}

async function normalise(dir: string, lower: string | null, v: Volatile): Promise<void> {
  const parent = await dirInChange(dir, path.dirname(v.path));
  if (parent === null) return;
  const at = path.join(parent, path.basename(v.path));
  const st = await lstat(at).catch(() => null);
  if (!st) return;
  if (v.becomes === 'files emptied') {
    if (st.isDirectory()) await mustRun('find', [at, '-type', 'f', '-size', '+0', '-exec', 'truncate', '-s', '0', '{}', '+']);
  } else if (st.isFile() && v.becomes === 'emptied') {
    if (st.size > 0) await truncate(at, 0);
  } else if (st.isFile()) {
    await removeFromChange(dir, lower, v.path);
  }
}

/** What in the change an element's volatile path matches (elements/volatile-paths.ts), whiteouts left out: they remove, they hold nothing. */
async function matching(dir: string, pattern: string): Promise<string[]> {
  const { dir: parent, matches } = volatileMatcher(pattern);
  const at = await dirInChange(dir, parent);
  if (at === null) return [];
  const found: string[] = [];
  for (const name of (await readdir(at)).filter(matches)) {
    const st = await lstat(path.join(at, name));
    if (!(st.isCharacterDevice() && st.rdev === 0)) found.push(path.join(parent, name));
  }
  return found;
}

/** Removes `rel` from the change; over a tree that has it, leaves overlayfs's whiteout, as a step's own `rm` would. */
async function removeFromChange(dir: string, lower: string | null, rel: string): Promise<void> {
  await rm(path.join(dir, rel), { recursive: true });
  if (lower !== null && (await lstat(path.join(lower, rel)).catch(() => null))) await mustRun('mknod', [path.join(dir, rel), 'c', '0', '0']);
}

/** The `.pyc` header (PEP 552): magic, flags (0: checked by the source's mtime), the source's mtime, its size. */
const PYC_HEADER = 16;

/** Removes the timestamp-checked `.pyc` files written in this change that record a source mtime later than `epoch`. */
async function dropStalePyc(dir: string, lower: string | null, epoch: number): Promise<void> {
  const found = await mustRun('find', [dir, '-name', '*.pyc', '-type', 'f', '-newermt', `@${epoch}`, '-print0']);
  for (const file of found.stdout.split('\0').filter(Boolean)) {
    const header = Buffer.alloc(PYC_HEADER);
    const fd = await open(file, 'r');
    const { bytesRead } = await fd.read(header, 0, PYC_HEADER, 0).finally(() => fd.close());
    if (bytesRead === PYC_HEADER && header.readUInt32LE(4) === 0 && header.readUInt32LE(8) > epoch) await removeFromChange(dir, lower, path.relative(dir, file));
  }
}
