// One archive state for a whole test run. Debian publishes several times a
// day, and a build keys its base tree and package steps with the state of the
// archive (src/engine/archive-source.ts): were every build of the run to read
// it anew, a publication in the middle of the run would miss the shared base
// cache (base-cache.ts) and every "second build is cached" assertion after
// it. So the state is read once per run, the first time an integration file
// starts, into the run directory, and every imgfactory the tests start builds
// against that file (IMGFACTORY_ARCHIVE_STATE=<file>) unless a test says
// otherwise (the archive-state tests do, to read the archive live). Files
// running side by side read it once between them (run-once.ts).
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readArchiveState } from '../../src/distro/archive-fetch.js';
import { ARCHIVE_STATE_TAG, type ArchiveStateFile } from '../../src/distro/archive-state.js';
import { DEFAULT_DISTRO, loadDistro } from '../../src/distro/load-distro.js';
import { applyOverrides, archiveSuites, overridesFromEnv } from '../../src/distro/sources.js';
import { unwrap } from '../../src/failure.js';
import { tempPathFor } from '../../src/util/atomic-write.js';
import { runDir } from './run-dir.js';
import { onceInRun } from './run-once.js';

/** The run's archive state file (the default distro, the mirrors the environment names), read from the archive on first use. */
export async function pinnedArchiveState(): Promise<string> {
  const file = path.join(runDir(), 'archive-state.json');
  await onceInRun('archive-state', async () => {
    const distro = applyOverrides(unwrap(await loadDistro(DEFAULT_DISTRO)), overridesFromEnv(process.env));
    const state: ArchiveStateFile = { v: ARCHIVE_STATE_TAG, suites: await readArchiveState(archiveSuites(distro)) };
    const tmp = tempPathFor(file);
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
    await rename(tmp, file);
  });
  return file;
}
