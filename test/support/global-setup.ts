// Vitest global setup: one scratch directory per test run, shared by every
// test file (integration files run two at a time, vitest.config.ts).
// Expensive fixtures such as the Debian base tree are built into it at most
// once per run (debian-tree.ts, run-once.ts) and the whole directory is
// removed at the end. What a single test file makes goes in a directory of
// its own, removed when that file ends (file-dir.ts), so the run's disk use
// stays near that of its two largest files. The local signing key builds make
// (manifest/local-key.ts) is the run's, too. The machine's speed is measured
// here, once, and every time limit of the run is stretched by it
// (slowdown.ts); the figure is printed with the run. The test cloud, started
// by the first file that needs it, is stopped at the end
// (test-cloud.ts).
//
// vitest.config.ts splits the run into projects (unit files, integration
// files side by side, integration files alone), and each project calls its
// global setup; all of them run in vitest's main process, so the first makes
// the run directory and the others join it (SHARERS counts them), and the
// last teardown removes it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeTree } from './remove-tree.js';
import { calibrate, REFERENCE_MS } from './slowdown.js';
import { stopRunTestCloud } from './test-cloud.js';

/** How many projects' setups share the run directory now (in the main process's environment). */
const SHARERS = 'IMGFACTORY_TEST_RUN_SHARERS';

export async function setup(): Promise<() => Promise<void>> {
  const sharers = Number(process.env[SHARERS] ?? 0);
  if (sharers === 0) await makeRun();
  process.env[SHARERS] = String(sharers + 1);
  return async () => {
    const left = Number(process.env[SHARERS]) - 1;
    process.env[SHARERS] = String(left);
    if (left > 0) return;
    const runDir = process.env.IMGFACTORY_TEST_RUN_DIR!;
    await stopRunTestCloud(runDir);
    await removeTree(runDir);
  };
}

async function makeRun(): Promise<void> {
  const runDir = await mkdtemp(path.join(process.env.IMGFACTORY_TEST_TMP ?? tmpdir(), 'imgfactory-test-'));
  process.env.IMGFACTORY_TEST_RUN_DIR = runDir;
  // Builds sign with the local key by default: the run's own, not the host's.
  process.env.IMGFACTORY_CONFIG_DIR = path.join(runDir, 'config');
  const speed = await calibrate(runDir);
  process.env.IMGFACTORY_TEST_SLOWDOWN = String(speed.factor);
  console.log(`test machine: the calibration workload took ${speed.ms} ms (${REFERENCE_MS} ms on the idle reference host), load ${speed.loadPerCpu} per CPU: time limits x${speed.factor}`);
}
