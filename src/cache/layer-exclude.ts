// The one exclusion rule for layers: the contents of the kernel and scratch
// mount points never go into a layer (the directories themselves do, with
// their metadata). Walkers, tests and comparisons all ask this function.
//
// /tmp is not among them: diskimage-builder keeps the tree's /tmp from the
// first hook to the end of the build, and its elements pass files through it
// between hooks and phases (svc-map's extra-data.d 10 → 11, package-installs'
// JSON, simple-init's glean checkout). Carried in the layers, that state is
// in the key chain like any other byte (each key holds its parent layer's
// digest); imgfactory's last step (finalise-tree) empties /tmp as DIB's
// finalise_base does, so no image keeps it.

/** Directories (archive paths) whose contents are never part of a layer. */
export const EXCLUDED_CONTENT_DIRS: readonly string[] = ['proc', 'sys', 'run', 'dev/pts'];

/** True when `archivePath` lies strictly inside one of EXCLUDED_CONTENT_DIRS. */
export function isExcludedPath(archivePath: string): boolean {
  for (const dir of EXCLUDED_CONTENT_DIRS) {
    if (archivePath.length > dir.length + 1 && archivePath.startsWith(dir) && archivePath[dir.length] === '/') {
      return true;
    }
  }
  return false;
}
