// Explaining a failure in terms of the work in flight: a full disk becomes
// `no-space` naming the filesystem and what the build keeps there; any other
// failure passes unchanged. (A real full filesystem: test/integration/faults.root.test.ts.)
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { explainFailure, type Work } from '../../../src/engine/doing.js';
import { FailureError, type Failure } from '../../../src/failure.js';
import { scratchDir } from '../../support/run-dir.js';

const enospc = (path?: string): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', ...(path ? { path } : {}) });

async function mountOf(dir: string): Promise<string> {
  return (await execa('findmnt', ['-n', '-o', 'TARGET', '--target', dir])).stdout.trim();
}

describe('explainFailure', () => {
  it('says how much is free as df does (what may still be written, not blocks reserved for another user)', async () => {
    const build = await scratchDir('build');
    const e = await explainFailure(enospc(), { what: 'w', writesTo: ['build directory'] }, { 'build directory': build });
    const avail = Number((await execa('df', ['--output=avail', '-B1', build])).stdout.split('\n')[1]);
    const free = ((e as FailureError).failure as Extract<Failure, { reason: 'no-space' }>).free;
    // Other tests write meanwhile: within 1 GiB.
    expect(Math.abs(free - avail)).toBeLessThan(2 ** 30);
  });

  it('names the filesystem, what the build keeps there, the work and what it needed', async () => {
    const build = await scratchDir('build');
    const work: Work = { what: 'writing x.tar', writesTo: ['output directory'], estimate: async () => 12345 };
    const e = await explainFailure(enospc(), work, { 'output directory': build, 'build directory': build });
    expect(e).toBeInstanceOf(FailureError);
    expect((e as FailureError).failure).toMatchObject({ reason: 'no-space', mountPoint: await mountOf(build), role: 'output directory', during: 'writing x.tar', needed: 12345 });
  });

  it('takes the place from the file an error names, and a program that said so as a full disk too', async () => {
    const build = await scratchDir('build');
    const e = await explainFailure(enospc(`${build}/deep/not/yet/made`), { what: 'w', writesTo: ['output directory'] }, { 'build directory': build, 'output directory': '/' });
    expect((e as FailureError).failure).toMatchObject({ reason: 'no-space', role: 'build directory' });
    const hook: Failure = { reason: 'hook-failed', element: 'a', phase: 'install.d', script: '10-a', exitCode: 1, logTail: ['cp: error writing x: No space left on device'], logPath: '/l' };
    const h = await explainFailure(new FailureError(hook), { what: 'running a/install.d/10-a', writesTo: ['build directory'] }, { 'build directory': build });
    expect((h as FailureError).failure).toMatchObject({ reason: 'no-space', role: 'build directory', during: 'running a/install.d/10-a' });
    expect((h as FailureError).failure).not.toHaveProperty('needed');
  });

  it('passes every other failure through unchanged', async () => {
    const build = await scratchDir('build');
    const hook = new FailureError({ reason: 'hook-failed', element: 'a', phase: 'install.d', script: '10-a', exitCode: 3, logTail: ['boom'], logPath: '/l' });
    expect(await explainFailure(hook, { what: 'w', writesTo: ['build directory'] }, { 'build directory': build })).toBe(hook);
    const plain = new Error('something else');
    expect(await explainFailure(plain, { what: 'w', writesTo: ['build directory'] }, { 'build directory': build })).toBe(plain);
  });

  it('reports an aborted build as interrupted during the work in flight', async () => {
    const stop = new AbortController();
    stop.abort('SIGINT');
    const e = await explainFailure(enospc(), { what: 'packing the layer of x', writesTo: [] }, {}, stop.signal);
    expect((e as FailureError).failure).toEqual({ reason: 'interrupted', signal: 'SIGINT', during: 'packing the layer of x' });
  });
});
