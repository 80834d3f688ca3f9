// The real Keystone + Glance + Barbican of scripts/test-cloud (run from the
// test tools tree), started at most once per test run (the first start takes
// about 1.5 minutes; each service may take a stretched minute to answer): the
// test files that use it share it, and the run's global teardown
// (global-setup.ts) stops it when the run started it. A cloud that was
// already running (IMGFACTORY_TEST_CLOUD_DIR shared with a person's shell) is
// reused and left running.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withRunLock } from './run-once.js';
import { scaled } from './slowdown.js';

export const TEST_CLOUD = fileURLToPath(new URL('../../scripts/test-cloud', import.meta.url));

let startedHere = false;

/** The run's record that it started the cloud (in the run directory of global-setup.ts). */
const startedMark = (runDir: string): string => path.join(runDir, 'test-cloud-started');

/** Starts the cloud if needed; returns the OS_* variables of the demo (or admin) project. */
export async function testCloud(who: 'demo' | 'admin' = 'demo'): Promise<Record<string, string>> {
  // One file of the run starts it while another that wants it waits (run-once.ts).
  await withRunLock('test-cloud', async () => {
    const running = (await execa(TEST_CLOUD, ['status'], { reject: false })).exitCode === 0;
    // Even when it runs: `start` restarts Glance when this checkout's config for it differs (a cloud started by an older script).
    const wait = String(Math.round(scaled(60_000) / 1000));
    await execa(TEST_CLOUD, ['start'], { stdio: ['ignore', 'ignore', 'inherit'], env: { IMGFACTORY_TEST_CLOUD_WAIT: wait } });
    if (!running) {
      const runDir = process.env.IMGFACTORY_TEST_RUN_DIR;
      if (runDir) await writeFile(startedMark(runDir), '');
      else startedHere = true;
    }
  });
  const text = (await execa(TEST_CLOUD, ['env', who])).stdout;
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]!] = m[2]!;
  return env;
}

/** Stops the cloud if this file started it outside a run's global setup (and IMGFACTORY_TEST_CLOUD_KEEP is not set); a run's cloud waits for the run's end. */
export async function stopTestCloud(): Promise<void> {
  if (startedHere && !process.env.IMGFACTORY_TEST_CLOUD_KEEP) await execa(TEST_CLOUD, ['stop'], { reject: false });
  startedHere = false;
}

/** At the end of a run: stops the cloud if a file of the run started it (and IMGFACTORY_TEST_CLOUD_KEEP is not set). */
export async function stopRunTestCloud(runDir: string): Promise<void> {
  if (existsSync(startedMark(runDir)) && !process.env.IMGFACTORY_TEST_CLOUD_KEEP) await execa(TEST_CLOUD, ['stop'], { reject: false });
}
