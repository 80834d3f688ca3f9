// Verifying a local cache: re-hashes every blob, removes the damaged ones and
// the index entries that point at them (or at blobs that are gone), removes
// entries that are not bound to their key (a line re-pointed at another
// entry's blob or descriptor, a descriptor gone or damaged), and counts
// index lines that failed their checksum. Then it reads every tree
// checkpoint whole against its record (every file's content and xattrs,
// each shared inode once) and removes the ones that changed. Safe to run
// while builds use the cache: only provably bad data is removed.
import { readBoundEntry } from './bound-entry.js';
import { listCheckpoints, verifyCheckpoint } from './checkpoints.js';
import { integrityHex, listBlobs } from './content-path.js';
import { verifyBlob } from './content-read.js';
import type { Integrity } from './digest.js';
import { get, ls, rm, type IndexEntry } from './index-entries.js';

export interface DamagedBlob {
  integrity: Integrity;
  path: string;
  /** Integrity of the bytes actually found. */
  found: string;
}

export interface UnboundEntry {
  key: string;
  /** What is wrong, e.g. "is bound to another key, sha256:…". */
  problem: string;
}

export interface DamagedCheckpoint {
  key: string;
  step: string;
  /** What changed, e.g. "changed since it was made: etc/debian_version was changed (its content differs)". */
  problem: string;
}

export interface VerifyReport {
  checkedBlobs: number;
  damaged: DamagedBlob[];
  /** Keys removed because their blob was damaged or missing. */
  removedEntries: string[];
  /** Entries removed because their line does not name a descriptor bound to their key and blob. */
  unboundEntries: UnboundEntry[];
  /** Index lines skipped because their checksum or shape was wrong. */
  badIndexLines: number;
  checkedCheckpoints: number;
  /** Tree checkpoints removed because they no longer hold what they recorded. */
  damagedCheckpoints: DamagedCheckpoint[];
  /** Nothing damaged, nothing missing, nothing unbound, no bad index line, no changed checkpoint. */
  ok: boolean;
}

export async function verify(cache: string): Promise<VerifyReport> {
  const good = new Set<string>();
  const damaged: DamagedBlob[] = [];
  let checkedBlobs = 0;
  for await (const blob of listBlobs(cache)) {
    checkedBlobs++;
    const result = await verifyBlob(cache, blob.integrity);
    if (result.ok) good.add(integrityHex(blob.integrity));
    else if (result.error.reason === 'integrity') {
      damaged.push({ integrity: blob.integrity, path: blob.path, found: result.error.found });
    }
  }
  const { entries, badLines } = await ls(cache);
  const removedEntries: string[] = [];
  const unboundEntries: UnboundEntry[] = [];
  for (const entry of entries) {
    // Not among the blobs checked: damaged, missing, or written after the
    // walk; check it alone so a fresh entry is not removed.
    if (!good.has(integrityHex(entry.integrity)) && !(await verifyBlob(cache, entry.integrity)).ok) {
      if (await removeIfCurrent(cache, entry)) removedEntries.push(entry.key);
      continue;
    }
    const bound = await readBoundEntry(cache, entry, 'any');
    if (typeof bound === 'string' && (await removeIfCurrent(cache, entry))) unboundEntries.push({ key: entry.key, problem: bound });
  }
  const checkpoints = await listCheckpoints(cache);
  const damagedCheckpoints: DamagedCheckpoint[] = [];
  const read = new Map<string, string>();
  for (const c of checkpoints) {
    const problem = await verifyCheckpoint(cache, c, read);
    if (problem !== null) damagedCheckpoints.push({ key: c.key, step: c.step, problem });
  }
  return {
    checkedBlobs,
    damaged,
    removedEntries,
    unboundEntries,
    badIndexLines: badLines,
    checkedCheckpoints: checkpoints.length,
    damagedCheckpoints,
    ok: damaged.length === 0 && removedEntries.length === 0 && unboundEntries.length === 0 && badLines === 0 && damagedCheckpoints.length === 0,
  };
}

/** Removes `entry` unless a build has written its key again since it was listed. */
async function removeIfCurrent(cache: string, entry: IndexEntry): Promise<boolean> {
  const now = await get(cache, entry.key, { touch: false });
  if (now?.integrity !== entry.integrity || now.descriptor !== entry.descriptor) return false;
  await rm(cache, entry.key);
  return true;
}
