import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planMounts } from '../../../src/sandbox/mount-plan.js';
import type { ReadOnlyRun } from '../../../src/sandbox/step.js';

describe('planMounts for a read-only step', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mount-plan-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const step = (over: Partial<ReadOnlyRun> = {}): ReadOnlyRun => ({
    tree: 'read-only',
    lowerDir: '/srv/tree',
    mergedDir: '/srv/view',
    inside: false,
    argv: ['/bin/true'],
    env: {},
    binds: [],
    resolver: false,
    logFile: path.join(dir, 'log'),
    ...over,
  });

  it('is one private read-only bind of the tree: no overlay, no /proc, /sys, /dev, no shadow layer', async () => {
    const plan = await planMounts(step(), dir);
    expect(plan).toEqual({
      ok: true,
      value: [
        { args: ['--bind', '/srv/tree', '/srv/view'], target: '/srv/view', creates: true },
        { args: ['--make-private', '/srv/view'], target: '/srv/view', creates: false },
        { args: ['-o', 'remount,bind,ro', '/srv/view'], target: '/srv/view', creates: false },
      ],
    });
  });

  it('refuses binds and the resolver, which would need mount points in a tree it cannot change', async () => {
    expect(await planMounts(step({ resolver: true }), dir)).toMatchObject({ ok: false, error: { reason: 'usage' } });
    expect(await planMounts(step({ binds: [{ source: dir, target: '/x', readOnly: true }] }), dir)).toMatchObject({ ok: false, error: { reason: 'usage' } });
  });
});

describe('planMounts for an overlay step', () => {
  it('says in words what stands where a mount point must go', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mount-plan-'));
    try {
      const tree = path.join(dir, 'tree');
      await mkdir(tree);
      await execa('mkfifo', [path.join(tree, 'proc')]);
      await writeFile(path.join(tree, 'sys'), '');
      const step = { lowerDir: tree, upperDir: path.join(dir, 'u'), workDir: path.join(dir, 'w'), mergedDir: path.join(dir, 'm'), inside: true, argv: ['/bin/true'], env: {}, binds: [], resolver: false, logFile: path.join(dir, 'log') };
      const fifo = await planMounts(step, dir);
      expect(!fifo.ok && fifo.error).toMatchObject({ reason: 'usage', message: 'mount point /proc in the tree is neither a file nor a directory (a device, socket, FIFO or a symlink loop); a directory is needed there' });
      await rm(path.join(tree, 'proc'));
      await mkdir(path.join(tree, 'proc'));
      const file = await planMounts(step, dir);
      expect(!file.ok && file.error).toMatchObject({ message: 'mount point /sys in the tree is a file; a directory is needed there' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
