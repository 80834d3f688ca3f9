// The one exclusion rule for layers: the contents of the kernel and scratch
// mount points never go into a layer (the directories themselves do, with
// their metadata). Walkers, tests and comparisons all ask this function.

/** Directories (archive paths) whose contents are never part of a layer. */
export const EXCLUDED_CONTENT_DIRS: readonly string[] = ['proc', 'sys', 'tmp', 'run', 'dev/pts'];

/** True when `archivePath` lies strictly inside one of EXCLUDED_CONTENT_DIRS. */
export function isExcludedPath(archivePath: string): boolean {
  for (const dir of EXCLUDED_CONTENT_DIRS) {
    if (archivePath.length > dir.length + 1 && archivePath.startsWith(dir) && archivePath[dir.length] === '/') {
      return true;
    }
  }
  return false;
}
