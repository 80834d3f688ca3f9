// What the files of one test run share in its run directory (run-dir.ts) —
// the base tree, the base cache, the pinned archive state, the test cloud —
// is made by one of them while the others wait: integration files run two at
// a time (vitest.config.ts), each in a process of its own, so "made on first
// use" needs a lock that works across processes. The lock is a file made
// with O_EXCL; its holder removes it when done or failed, so a waiter whose
// maker failed tries (and fails) itself instead of waiting forever.
import { access, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runDir } from './run-dir.js';

const POLL_MS = 500;

const exists = (f: string): Promise<boolean> => access(f).then(() => true, () => false);

/** Runs `fn` while holding the run's lock `name`, waiting for another process of the run that holds it. */
export async function withRunLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(runDir(), `${name}.lock`);
  for (;;) {
    const held = await open(lock, 'wx').then(
      (f) => f.close().then(() => true),
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') return false;
        throw e;
      },
    );
    if (held) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Makes the run's shared thing `name` with `make` unless a process of the run
 * already made it (its `<name>.complete` mark is there); either way returns
 * once it is complete.
 */
export async function onceInRun(name: string, make: () => Promise<void>): Promise<void> {
  const done = path.join(runDir(), `${name}.complete`);
  if (await exists(done)) return;
  await withRunLock(name, async () => {
    if (await exists(done)) return;
    await make();
    await writeFile(done, '');
  });
}
