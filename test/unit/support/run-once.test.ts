// The run's shared things are made once while other files wait
// (test/support/run-once.ts): the lock is a file made with O_EXCL, the same
// between processes as between the calls raced here; a maker that fails
// hands the lock on instead of leaving the others waiting. And the
// sequencer's list of long files names files that exist.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onceInRun } from '../../support/run-once.js';
import { LONGEST } from '../../support/sequencer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('onceInRun', () => {
  let saved: string | undefined;
  let runDir = '';
  beforeEach(async () => {
    saved = process.env.IMGFACTORY_TEST_RUN_DIR;
    runDir = await mkdtemp(path.join(tmpdir(), 'run-once-'));
    process.env.IMGFACTORY_TEST_RUN_DIR = runDir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.IMGFACTORY_TEST_RUN_DIR;
    else process.env.IMGFACTORY_TEST_RUN_DIR = saved;
  });

  it('makes a thing once when four callers want it at the same time, and all return once it is complete', async () => {
    let made = 0;
    let complete = false;
    const make = async () => {
      made++;
      await sleep(700);
      complete = true;
    };
    const seen = await Promise.all([0, 1, 2, 3].map(() => onceInRun('thing', make).then(() => complete)));
    expect(made).toBe(1);
    expect(seen).toEqual([true, true, true, true]);
    expect((await readdir(runDir)).sort()).toEqual(['thing.complete']);
    await onceInRun('thing', make);
    expect(made).toBe(1);
  });

  it('leaves no lock when its maker fails: a caller waiting for it makes it itself', async () => {
    const calls: string[] = [];
    const failing = onceInRun('thing', async () => {
      calls.push('first');
      await sleep(700);
      throw new Error('the maker failed');
    });
    await sleep(100);
    const waiting = onceInRun('thing', async () => {
      calls.push('second');
    });
    await expect(failing).rejects.toThrow('the maker failed');
    await waiting;
    expect(calls).toEqual(['first', 'second']);
    expect(await readdir(runDir)).toEqual(['thing.complete']);
  });
});

describe('the sequencer', () => {
  it('names only integration files that exist', async () => {
    const files = await readdir(path.join(import.meta.dirname, '..', '..', 'integration'));
    for (const name of LONGEST) expect(files, name).toContain(`${name}.root.test.ts`);
  });
});
