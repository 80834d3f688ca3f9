import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBuildDir, recoverBuilds, removeBuildDir, resetStepDirs, type BuildDir } from '../../../src/engine/build-dir.js';
import { chooseScratch, TMPFS_DIR } from '../../../src/engine/scratch-fs.js';
import { scratchDir } from '../../support/run-dir.js';

const made: string[] = [];
afterEach(async () => {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A build dir on disk whose work dirs are under a fresh directory of /dev/shm. */
async function inMemory(): Promise<{ root: string; mem: string; dir: BuildDir }> {
  const root = await scratchDir('build-root');
  const mem = await mkdtemp(path.join(TMPFS_DIR, 'imgfactory-test-'));
  made.push(mem);
  return { root, mem, dir: await createBuildDir(root, 'img', mem) };
}

describe('build directories', () => {
  it('keep the work dirs inside the build dir on disk', async () => {
    const root = await scratchDir('build-root');
    const dir = await createBuildDir(root, 'img');
    expect(dir.work).toBe(dir.root);
    expect(path.dirname(dir.tree)).toBe(dir.root);
    await removeBuildDir(dir);
    await expect(stat(dir.root)).rejects.toThrow();
  });

  it('put tree, hooks, step and spool on the scratch filesystem, logs stay on disk, and both go away', async () => {
    const { root, mem, dir } = await inMemory();
    expect(path.dirname(dir.work)).toBe(mem);
    for (const p of [dir.tree, dir.hooks, dir.spool, dir.step.upper]) expect(p.startsWith(`${dir.work}/`)).toBe(true);
    expect(dir.logs.startsWith(`${path.resolve(root)}/`)).toBe(true);
    expect(await readFile(path.join(dir.root, 'scratch'), 'utf8')).toBe(dir.work);
    await resetStepDirs(dir);
    expect((await stat(dir.step.merged)).isDirectory()).toBe(true);
    await removeBuildDir(dir);
    await expect(stat(dir.work)).rejects.toThrow();
    await expect(stat(dir.root)).rejects.toThrow();
  });

  it('a build that died leaves its in-memory work dir to the next build to remove', async () => {
    const { root, dir } = await inMemory();
    await writeFile(path.join(dir.tree, 'file'), 'x');
    // Owned by a process that is gone.
    await writeFile(path.join(dir.root, 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 1, startTime: 1 }));
    const messages = await recoverBuilds(root);
    expect(messages.join('\n')).toContain(dir.root);
    await expect(stat(dir.work)).rejects.toThrow();
    await expect(stat(dir.root)).rejects.toThrow();
  });
});

describe('chooseScratch', () => {
  it('builds on disk when asked, and in /dev/shm when asked for tmpfs', async () => {
    expect((await chooseScratch('disk')).dir).toBeNull();
    expect((await chooseScratch('tmpfs')).dir).toBe(TMPFS_DIR);
    const auto = await chooseScratch('auto');
    expect([null, TMPFS_DIR]).toContain(auto.dir);
    expect(auto.reason).toMatch(auto.dir === null ? /^on disk/ : /^in memory/);
  });
});
