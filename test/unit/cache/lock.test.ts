import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../../src/failure.js';
import { LOCKS_DIR } from '../../../src/cache/format.js';
import { lockDir, lockState, withKeyLock } from '../../../src/cache/lock.js';
import { currentHolder, type LockHolder } from '../../../src/cache/lock-holder.js';
import { LocalLayerStore } from '../../../src/cache/store-local.js';
import { scratchDir } from '../../support/run-dir.js';
import { compiledSources, workerScript } from './child/compile.js';
import { key } from './store-conformance.js';

/** Starts a worker and resolves once it printed "locked" (wrapped: the child itself is a thenable). */
async function startHolder(mod: string, job: object): Promise<{ child: ResultPromise }> {
  const child = execa('node', [workerScript, mod, JSON.stringify(job)], { reject: false });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve();
    });
    void child.then((r) => reject(new Error(`worker ended early: ${r.stderr}`)));
  });
  return { child };
}

/** Plants a lock held by `holder` as another process would leave it. */
async function plantLock(cache: string, k: string, holder: LockHolder, ageMs = 0): Promise<void> {
  const dir = lockDir(cache, k);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, holder.token);
  await writeFile(file, JSON.stringify(holder));
  const t = new Date(Date.now() - ageMs);
  await utimes(file, t, t);
}

describe('withKeyLock across processes', () => {
  let mod: string;
  beforeAll(async () => {
    mod = await compiledSources();
  });

  it('waits for a holder in another process, then finds what it stored', async () => {
    const cache = await scratchDir('lock');
    const { child } = await startHolder(mod, { op: 'hold-then-put', cache, key: key('k'), ms: 300 });
    const store = new LocalLayerStore(cache);
    const before = await lockState(cache, key('k'));
    expect(before?.alive).toBe(true);
    expect(before?.holder.pid).toBe(child.pid);
    const found = await store.withKeyLock(key('k'), () => store.lookup(key('k'), 'layer/hook'));
    expect(found?.metadata.step).toBe('held');
    expect((await child).exitCode).toBe(0);
    expect(await lockState(cache, key('k'))).toBeNull();
  });

  it('breaks the lock of a killed holder', async () => {
    const cache = await scratchDir('lock');
    const { child } = await startHolder(mod, { op: 'hold', cache, key: key('k') });
    child.kill('SIGKILL');
    await child;
    expect((await lockState(cache, key('k')))?.alive).toBe(false);
    expect(await withKeyLock(cache, key('k'), async () => 'mine', { timeoutMs: 5_000 })).toBe('mine');
    expect(await readdir(path.join(cache, LOCKS_DIR))).toEqual([]);
  });

  it('times out with a clear failure naming the holder', async () => {
    const cache = await scratchDir('lock');
    const { child } = await startHolder(mod, { op: 'hold', cache, key: key('k') });
    try {
      const err = await withKeyLock(cache, key('k'), async () => 'never', { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FailureError);
      const failure = (err as FailureError).failure;
      expect(failure.reason).toBe('lock-timeout');
      if (failure.reason === 'lock-timeout') {
        expect(failure.holder).toContain(`pid ${child.pid}`);
        expect(failure.what).toContain(key('k'));
        expect(failure.waitedMs).toBeGreaterThan(200);
      }
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  });
});

describe('stale lock detection', () => {
  it('treats a reused pid (live process, other start time) as dead', async () => {
    const cache = await scratchDir('lock');
    await plantLock(cache, 'k', { ...currentHolder('aaaa'), startTime: '1' });
    expect((await lockState(cache, 'k'))?.alive).toBe(false);
    expect(await withKeyLock(cache, 'k', async () => 1, { timeoutMs: 2_000 })).toBe(1);
  });

  it('treats a holder of an earlier boot of this host as dead', async () => {
    const cache = await scratchDir('lock');
    await plantLock(cache, 'k', { ...currentHolder('bbbb'), bootId: 'another-boot' });
    expect((await lockState(cache, 'k'))?.alive).toBe(false);
  });

  it('trusts a holder on another host while its heartbeat is fresh, not after', async () => {
    const cache = await scratchDir('lock');
    const foreign = { ...currentHolder('cccc'), hostname: 'elsewhere', pid: 1 };
    await plantLock(cache, 'k', foreign);
    expect((await lockState(cache, 'k', { staleMs: 60_000 }))?.alive).toBe(true);
    const err = await withKeyLock(cache, 'k', async () => 1, { timeoutMs: 100, staleMs: 60_000 }).catch((e: unknown) => e);
    expect((err as FailureError).failure.reason).toBe('lock-timeout');
    await plantLock(cache, 'k', foreign, 120_000);
    expect(await withKeyLock(cache, 'k', async () => 2, { timeoutMs: 2_000, staleMs: 60_000 })).toBe(2);
  });

  it('keeps its own heartbeat fresh while held', async () => {
    const cache = await scratchDir('lock');
    await withKeyLock(
      cache,
      'k',
      async () => {
        const dir = lockDir(cache, 'k');
        const [name] = await readdir(dir);
        const old = new Date(Date.now() - 60_000);
        await utimes(path.join(dir, name!), old, old);
        await new Promise((r) => setTimeout(r, 150));
        const { mtimeMs } = await (await import('node:fs/promises')).stat(path.join(dir, name!));
        expect(Date.now() - mtimeMs).toBeLessThan(10_000);
      },
      { staleMs: 200 },
    );
  });
});
