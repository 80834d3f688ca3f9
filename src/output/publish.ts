// The one way an output reaches the output directory, for cold and cached
// builds alike: its bytes go to a temp name beside the final file
// (tempPathFor, src/util/atomic-write.ts), its `<file>.sha256` (sha256sum
// format) likewise, both are renamed into place, and a placed record
// (placed.ts) remembers which bytes imgfactory put there.
//
//   made file (scratch dir) ──rename, or copy across filesystems──┐
//   cache blob stream ──────────── write ─────────────────────────┤
//                                                                  ▼
//   <dir>/.<name>.<ext>.tmp-<pid>-<rnd> ──rename──► <dir>/<name>.<ext>
//   <dir>/.<name>.<ext>.sha256.tmp-…    ──rename──► <dir>/<name>.<ext>.sha256
//                                                   <dir>/.<name>.<ext>.placed
//
// An existing output is replaced only by a finished one, and never after the
// build was interrupted (process/interrupt.ts): then the temp files go. What
// a killed build left under temp names, the next one removes (removeAbandoned).
import { createWriteStream } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { interruption, throwIfInterrupted } from '../process/interrupt.js';
import { run } from '../process/run.js';
import { pauseAt } from '../process/test-pause.js';
import { placedSha256, recordPlaced } from './placed.js';
import { FailureError } from '../failure.js';
import { hexOf, sha256File } from '../cache/digest.js';
import { tempNameOwner, tempPathFor, writeFileAtomic } from '../util/atomic-write.js';
import { hashFile, type FileHashes } from '../util/hash-file.js';
import { pidExists } from '../util/pid-exists.js';

/**
 * Publishes a finished file (a temp name beside `final`, or a file in a
 * scratch directory elsewhere) as `final`; returns its hashes, taken in one
 * read, for the cache and the manifest.
 */
export async function publishFile(source: string, final: string): Promise<FileHashes> {
  const hashes = await hashFile(source, interruption);
  const beside = path.dirname(path.resolve(source)) === path.dirname(path.resolve(final));
  const tmp = beside ? source : tempPathFor(final);
  try {
    if (!beside) await moveTo(source, tmp);
    await place(tmp, final, hashes.sha256);
  } catch (e) {
    if (!beside) await rm(tmp, { force: true });
    throw e;
  }
  return hashes;
}

/**
 * Publishes bytes from a stream (a cache blob, checked against `sha256` as
 * it streams) as `final`. When the file in place already holds these bytes
 * (known without reading from its placed record, else by one read) it is
 * kept, not rewritten; only its .sha256 and record are renewed.
 * The stream's error (EINTEGRITY, ENOENT, ...) is the caller's to handle;
 * the temp file is gone by then.
 */
export async function publishStream(open: () => Promise<Readable>, final: string, sha256: string): Promise<'kept' | 'written'> {
  const inPlace = (await placedSha256(final)) ?? (await sha256File(final).then(hexOf, () => null));
  if (inPlace === sha256) {
    await writeFileAtomic(`${final}.sha256`, sumLine(sha256, final));
    await recordPlaced(final, sha256);
    return 'kept';
  }
  const tmp = tempPathFor(final);
  try {
    await pipeline(await open(), createWriteStream(tmp, { flags: 'wx' }), { signal: interruption });
    await place(tmp, final, sha256);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return 'written';
}

/** Renames a complete temp file into place with its .sha256 beside it, and records it as placed. */
async function place(tmp: string, final: string, sha256: string): Promise<void> {
  const sumTmp = tempPathFor(`${final}.sha256`);
  try {
    await writeFile(sumTmp, sumLine(sha256, final));
    await pauseAt('publish');
    throwIfInterrupted();
    await rename(tmp, final);
    await rename(sumTmp, `${final}.sha256`);
  } catch (e) {
    await rm(sumTmp, { force: true });
    throw e;
  }
  await recordPlaced(final, sha256);
}

/**
 * Removes what builds that are gone left in `outputDir` under temp names
 * (outputs, .sha256 files, disk images in the making): the name holds the
 * pid of its maker, and a name whose maker still runs is left alone.
 * Returns one message per removal.
 */
export async function removeAbandoned(outputDir: string): Promise<string[]> {
  const messages: string[] = [];
  for (const name of await readdir(outputDir).catch(() => [] as string[])) {
    const owner = tempNameOwner(name);
    if (owner === null || owner === process.pid || pidExists(owner)) continue;
    await rm(path.join(outputDir, name), { recursive: true, force: true });
    messages.push(`removed ${path.join(outputDir, name)}, left half-written by a build that is gone`);
  }
  return messages;
}

/** `<sha256>  <name>` as sha256sum writes it. */
const sumLine = (sha256: string, final: string): string => `${sha256}  ${path.basename(final)}\n`;

/** Moves a file to `to`: a rename on one filesystem, else a sparse copy (raw disks are mostly holes) and a removal. */
async function moveTo(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
  }
  const cp = await run('cp', ['--sparse=always', from, to]);
  if (!cp.ok) throw new FailureError(cp.error);
  await rm(from, { force: true });
}
