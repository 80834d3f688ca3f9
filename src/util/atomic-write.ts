// The one way imgfactory replaces a file or directory: write it under a
// temporary name beside its final place (same directory, so the same
// filesystem), then rename it there. A reader sees the old version or the
// new one, never half of one; a crash leaves only a temp name behind.
//
//   <dir>/.<name>.tmp-<pid>-<random>  --rename-->  <dir>/<name>
//
// The leading dot keeps temp names out of globs and listings; the pid says
// which process left one behind.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Marks every temp name made here: `.<name>` + TEMP_MARK + `<pid>-<random>`. */
export const TEMP_MARK = '.tmp-';

/** A fresh temporary name beside `final` (same directory, so rename is atomic). */
export function tempPathFor(final: string): string {
  return path.join(path.dirname(final), `.${path.basename(final)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Whether `name` (a base name) is one that tempPathFor made. */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

/** The pid of the process that made temp name `name` (a base name), or null for other names. */
export function tempNameOwner(name: string): number | null {
  if (!isTempName(name)) return null;
  const m = /^(\d+)-[0-9a-f]+$/.exec(name.slice(name.lastIndexOf(TEMP_MARK) + TEMP_MARK.length));
  return m ? Number(m[1]) : null;
}

/** Writes `data` to `final` atomically; the temp file is removed if anything fails. */
export async function writeFileAtomic(final: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  const tmp = tempPathFor(final);
  try {
    await writeFile(tmp, data, { flag: 'wx', ...(options.mode === undefined ? {} : { mode: options.mode }) });
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
