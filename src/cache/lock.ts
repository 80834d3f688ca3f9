// Per-key build locks shared by every process using one cache: while one
// build makes the layer of a key, another build wanting the same key waits,
// then finds the entry and uses it. A lock is a directory holding one file
// named by the holder's token (its JSON says who holds it):
//
//   <cache>/locks/<sha256(key)>.lock/<token>        the held lock
//   <cache>/locks/.<token>.tmp-<pid>-<rand>/<token> being set up (a temp name: util/atomic-write.ts)
//
// Taking: rename the set-up dir onto the lock dir. rename(2) onto a non-empty
// directory fails, so exactly one taker wins, and the holder's file is there
// from the first instant. Breaking a dead holder's lock: unlink exactly that
// holder's file (its name is its token, so this is a compare-and-delete: it
// can never remove the lock a newer holder took meanwhile), then rmdir the
// now empty dir (fails harmlessly if a new holder already renamed in).
// Releasing is the same two steps for one's own token.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, rmdir, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailureError } from '../failure.js';
import { tempPathFor } from '../util/atomic-write.js';
import { LOCKS_DIR } from './format.js';
import { currentHolder, describeHolder, holderIsAlive, parseHolder, type LockHolder } from './lock-holder.js';

export interface LockOptions {
  /** Give up waiting after this long (default one hour: a step may take long). */
  timeoutMs?: number;
  /** A holder this kernel cannot see is dead once its heartbeat is this old (default 2 min). */
  staleMs?: number;
  /** First wait between attempts; doubles up to one second (default 20 ms). */
  pollMs?: number;
  /** Told once when the lock is found held by someone else (for a log line). */
  onWait?: (holder: LockHolder) => void;
}

export interface LockState {
  holder: LockHolder;
  alive: boolean;
}

const DEFAULTS = { timeoutMs: 60 * 60_000, staleMs: 120_000, pollMs: 20 };

/** Keys held along the current async call chain: re-entering one would wait for itself forever. */
const heldHere = new AsyncLocalStorage<ReadonlySet<string>>();

/**
 * Runs `fn` holding the lock of `key` in `cache`, waiting for any other
 * holder (process or concurrent call in this process) first. Throws a
 * FailureError with reason 'lock-timeout' if the wait exceeds the timeout,
 * and an Error at once if this call chain already holds `key`.
 */
export async function withKeyLock<T>(cache: string, key: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const outer = heldHere.getStore();
  if (outer?.has(key)) throw new Error(`withKeyLock: lock of ${key} taken again by the call chain holding it (would deadlock)`);
  const release = await acquire(cache, key, { ...DEFAULTS, ...opts });
  try {
    return await heldHere.run(new Set([...(outer ?? []), key]), fn);
  } finally {
    await release();
  }
}

/** Who holds the lock of `key` and whether they live, or null if it is free. */
export async function lockState(cache: string, key: string, opts: LockOptions = {}): Promise<LockState | null> {
  const found = await readLock(lockDir(cache, key));
  if (!found?.holder) return null;
  return { holder: found.holder, alive: holderIsAlive(found.holder, found.mtimeMs, opts.staleMs ?? DEFAULTS.staleMs) };
}

export function lockDir(cache: string, key: string): string {
  return path.join(cache, LOCKS_DIR, `${createHash('sha256').update(key).digest('hex')}.lock`);
}

type Resolved = Required<Omit<LockOptions, 'onWait'>> & Pick<LockOptions, 'onWait'>;

async function acquire(cache: string, key: string, opts: Resolved): Promise<() => Promise<void>> {
  const token = randomBytes(12).toString('hex');
  const holder = currentHolder(token);
  const dir = lockDir(cache, key);
  const staging = tempPathFor(path.join(cache, LOCKS_DIR, token));
  const started = Date.now();
  let delay = opts.pollMs;
  let told = false;
  try {
    for (;;) {
      await mkdir(staging, { recursive: true });
      await writeFile(path.join(staging, token), JSON.stringify(holder));
      if (await tryRename(staging, dir)) break;
      const found = await readLock(dir);
      if (found === null) continue; // released or broken meanwhile: try again at once
      if (!found.holder) {
        // Unreadable holder file: only trust it while it is fresh.
        if (Date.now() - found.mtimeMs > opts.staleMs) await breakLock(dir, found.name);
      } else if (!holderIsAlive(found.holder, found.mtimeMs, opts.staleMs)) {
        await breakLock(dir, found.name);
        continue;
      } else if (!told) {
        told = true;
        opts.onWait?.(found.holder);
      }
      const waited = Date.now() - started;
      if (waited > opts.timeoutMs) {
        throw new FailureError({
          reason: 'lock-timeout',
          what: `cache key ${key} in ${cache}`,
          holder: found.holder ? describeHolder(found.holder) : 'an unreadable lock file',
          waitedMs: waited,
        });
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 1000);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const mine = path.join(dir, token);
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(mine, now, now).catch(() => undefined);
  }, Math.max(opts.staleMs / 4, 10));
  heartbeat.unref();
  return async () => {
    clearInterval(heartbeat);
    await breakLock(dir, token);
  };
}

/** Takes the lock if the lock dir is absent or empty. */
async function tryRename(staging: string, dir: string): Promise<boolean> {
  try {
    await rename(staging, dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    if (code === 'ENOENT') {
      await mkdir(path.dirname(dir), { recursive: true });
      return false;
    }
    throw err;
  }
}

interface FoundLock {
  name: string;
  holder: LockHolder | null;
  mtimeMs: number;
}

/** The holder file in a lock dir, or null if there is no (non-empty) lock dir. */
async function readLock(dir: string): Promise<FoundLock | null> {
  try {
    const name = (await readdir(dir))[0];
    if (name === undefined) return null;
    const file = path.join(dir, name);
    const [text, st] = await Promise.all([readFile(file, 'utf8'), lstat(file)]);
    const holder = parseHolder(text);
    return { name, holder: holder?.token === name ? holder : null, mtimeMs: st.mtimeMs };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** Removes holder file `name` (only that one) and then the lock dir if it is empty. */
async function breakLock(dir: string, name: string): Promise<void> {
  await unlink(path.join(dir, name)).catch(ignore('ENOENT'));
  await rmdir(dir).catch(ignore('ENOENT', 'ENOTEMPTY', 'EEXIST'));
}

function ignore(...codes: string[]): (err: unknown) => void {
  return (err) => {
    if (!codes.includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  };
}
