// A network step's key holds the archive state it installs from (cache/keys.ts
// `archive`), read before it runs: from the archive at the start of the build,
// from the cache's record, or from a file that pins a pipeline to one state.
// apt fetches the archive itself, and the archive may have published since.
// So after the step runs, and before its layer is stored, the release files
// apt fetched into the tree are checked against the keyed state: a step that
// installed from another state fails (`archive-moved`), its layer neither
// stored nor applied, so that no cache entry claims a state it was not built
// from.
//
// Every step is checked, not only the network ones: a hook that runs
// `apt-get update` itself (DIB's elements do, in install.d) fetches the
// archive as it is then, and its key holds the archive state only through
// its parents'. Only the files the step wrote (its upper directory) are
// judged: a step that installed from the lists an earlier step left (a
// package step after the base tree, which keeps them until finalise)
// installed from a state already checked when that step ran; an `apt-get
// update` that found the same state wrote the same bytes.
//
// The upper dir is read on the host, through the step's own links only
// (`fileInTree`): a step that made `/var` a link to an absolute path has its
// lists where that link points in the tree, not in the host's `/var`.
import { readFile } from 'node:fs/promises';
import { APT_LISTS_DIR, aptListName, movedSuites, type ArchiveState } from '../distro/archive-state.js';
import { FailureError } from '../failure.js';
import { fileInTree } from '../util/tree-path.js';

export async function checkFetchedState(stepId: string, state: ArchiveState, upperDir: string): Promise<void> {
  const fetched = new Map<string, Buffer>();
  for (const s of state.suites) {
    const name = aptListName(s.url);
    const file = await fileInTree(upperDir, `/${APT_LISTS_DIR}/${name}`);
    // A whiteout (the step removed the lists) or nothing at all: nothing fetched to judge.
    if (file === null) continue;
    fetched.set(name, await readFile(file));
  }
  const moved = movedSuites(state.suites, fetched);
  if (moved.length > 0) throw new FailureError({ reason: 'archive-moved', step: stepId, from: state.from, suites: moved });
}
