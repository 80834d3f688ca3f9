// Vitest global setup: one scratch directory per test run, shared by every
// test file (they run one at a time). Expensive fixtures such as the Debian
// base tree are built into it at most once per run (see debian-tree.ts) and
// the whole directory is removed at the end — but only after everything
// mounted below it (say by an mmdebstrap a timed-out test left behind) is
// unmounted: a recursive delete must never walk into a host's /dev or /proc.
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const targets = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((t): t is string => t !== undefined)
    .map((t) => t.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return targets.filter((t) => t === dir || t.startsWith(`${dir}/`)).sort().reverse();
}

export async function setup(): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(path.join(process.env.IMGFACTORY_TEST_TMP ?? tmpdir(), 'imgfactory-test-'));
  process.env.IMGFACTORY_TEST_RUN_DIR = runDir;
  return async () => {
    if (process.env.IMGFACTORY_KEEP_TEST_DIR) return;
    for (const target of await mountsUnder(runDir)) await execa('umount', ['-l', target], { reject: false });
    const left = await mountsUnder(runDir);
    if (left.length > 0) {
      console.error(`not removing ${runDir}: still mounted below it: ${left.join(', ')}`);
      return;
    }
    await rm(runDir, { recursive: true, force: true });
  };
}
