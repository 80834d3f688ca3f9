// Verifying a local cache: re-hashes every blob, removes the damaged ones and
// the index entries that point at them (or at blobs that are gone), and
// counts index lines that failed their checksum. Then it reads every tree
// checkpoint whole against its record (every file's content and xattrs,
// each shared inode once) and removes the ones that changed. Safe to run
// while builds use the cache: only provably bad data is removed.
import { listCheckpoints, verifyCheckpoint } from './checkpoints.js';
import { integrityHex, listBlobs } from './content-path.js';
import { verifyBlob } from './content-read.js';
import type { Integrity } from './digest.js';
import { ls, rm } from './index-entries.js';

export interface DamagedBlob {
  integrity: Integrity;
  path: string;
  /** Integrity of the bytes actually found. */
  found: string;
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
  /** Index lines skipped because their checksum or shape was wrong. */
  badIndexLines: number;
  checkedCheckpoints: number;
  /** Tree checkpoints removed because they no longer hold what they recorded. */
  damagedCheckpoints: DamagedCheckpoint[];
  /** Nothing damaged, nothing missing, no bad index line, no changed checkpoint. */
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
  for (const entry of entries) {
    if (good.has(integrityHex(entry.integrity))) continue;
    // Not among the blobs checked: damaged, missing, or written after the
    // walk; check it alone so a fresh entry is not removed.
    const again = await verifyBlob(cache, entry.integrity);
    if (again.ok) continue;
    await rm(cache, entry.key);
    removedEntries.push(entry.key);
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
    badIndexLines: badLines,
    checkedCheckpoints: checkpoints.length,
    damagedCheckpoints,
    ok: damaged.length === 0 && removedEntries.length === 0 && badLines === 0 && damagedCheckpoints.length === 0,
  };
}
