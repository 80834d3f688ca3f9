// Removing a test scratch directory safely: everything mounted below it (say
// by an mmdebstrap or a sandbox a timed-out test left behind) is unmounted
// first, and if anything stays mounted the directory is left alone — a
// recursive delete must never walk into a host's /dev or /proc.
import { execa } from 'execa';
import { readFile, rm } from 'node:fs/promises';

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const targets = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((t): t is string => t !== undefined)
    .map((t) => t.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return targets.filter((t) => t === dir || t.startsWith(`${dir}/`)).sort().reverse();
}

/** Unmounts what is mounted below `dir`, then deletes it; keeps it (and says so) if a mount stays. */
export async function removeTree(dir: string): Promise<void> {
  if (process.env.IMGFACTORY_KEEP_TEST_DIR) return;
  for (const target of await mountsUnder(dir)) await execa('umount', ['-l', target], { reject: false });
  const left = await mountsUnder(dir);
  if (left.length > 0) {
    console.error(`not removing ${dir}: still mounted below it: ${left.join(', ')}`);
    return;
  }
  await rm(dir, { recursive: true, force: true });
}
