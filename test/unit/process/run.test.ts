import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../../src/failure.js';
import { mustRun, run, runLogged } from '../../../src/process/run.js';

describe('run', () => {
  it('returns stdout and stderr, logs the command line first, and runs with LC_ALL=C', async () => {
    const log: string[] = [];
    const r = await run('/bin/sh', ['-c', 'echo "$LC_ALL"; echo oops >&2'], { onLog: (l) => log.push(l) });
    expect(r).toMatchObject({ ok: true, value: { stdout: 'C\n', stderr: 'oops\n', exitCode: 0, signal: null } });
    expect(log).toEqual(['$ /bin/sh -c echo "$LC_ALL"; echo oops >&2']);
  });

  it('passes only env (and LC_ALL) with extendEnv false, and feeds input to stdin', async () => {
    const r = await run('/usr/bin/env', [], { env: { ONLY: 'this' }, extendEnv: false });
    expect(r.ok && r.value.stdout.trim().split('\n').sort()).toEqual(['LC_ALL=C', 'ONLY=this']);
    const cat = await run('cat', [], { input: Buffer.from([0, 1, 2]), binary: true });
    expect(cat.ok && [...cat.value.stdoutBytes]).toEqual([0, 1, 2]);
    expect(cat.ok && cat.value.stdout).toBe('');
  });

  it('turns a non-zero exit into a tool-failed failure naming the tool, with the tail of stderr', async () => {
    const r = await run('/bin/sh', ['-c', 'for i in $(seq 1 30); do echo line$i >&2; done; exit 3']);
    expect(r).toMatchObject({ ok: false, error: { reason: 'tool-failed', tool: '/bin/sh', exitCode: 3 } });
    const tail = !r.ok && r.error.reason === 'tool-failed' ? r.error.stderrTail : [];
    expect(tail).toHaveLength(15);
    expect(tail.at(-1)).toBe('line30');
  });

  it('says when the tool is not installed', async () => {
    const r = await run('imgfactory-no-such-tool', ['x']);
    expect(!r.ok && r.error).toMatchObject({ reason: 'tool-failed', tool: 'imgfactory-no-such-tool', exitCode: null });
    expect(!r.ok && r.error.reason === 'tool-failed' && r.error.stderrTail.at(-1)).toMatch(/not found on this host/);
  });

  it('with check: false hands a non-zero exit back, but still fails a tool that cannot start', async () => {
    const r = await run('/bin/sh', ['-c', 'echo out; exit 4'], { check: false });
    expect(r).toMatchObject({ ok: true, value: { exitCode: 4, stdout: 'out\n' } });
    expect((await run('imgfactory-no-such-tool', [], { check: false })).ok).toBe(false);
  });

  it('kills the tool after its timeout', async () => {
    const r = await run('sleep', ['10'], { timeout: 200 });
    expect(!r.ok && r.error).toMatchObject({ reason: 'tool-failed', tool: 'sleep', signal: 'SIGTERM' });
    expect(!r.ok && r.error.reason === 'tool-failed' && r.error.stderrTail.at(-1)).toMatch(/timeout of 0.2 s/);
  });

  it('stops on abort and reports it as interrupted', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort('SIGINT'), 100);
    const started = Date.now();
    const r = await run('sleep', ['10'], { signal: stop.signal });
    expect(!r.ok && r.error).toEqual({ reason: 'interrupted', signal: 'SIGINT' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('mustRun throws the failure as a FailureError', async () => {
    await expect(mustRun('false', [])).rejects.toBeInstanceOf(FailureError);
    await expect(mustRun('false', [])).rejects.toMatchObject({ failure: { reason: 'tool-failed', tool: 'false', exitCode: 1 } });
    expect((await mustRun('echo', ['hi'])).stdout).toBe('hi\n');
  });
});

describe('runLogged', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'run-logged-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('appends all output to the log and passes non-blank lines on', async () => {
    const logFile = path.join(dir, 'ok.log');
    const lines: string[] = [];
    const r = await runLogged('/bin/sh', ['-c', 'echo one; echo; echo three >&2; printf two'], { logFile, onLine: (l) => lines.push(l) });
    expect(r.ok).toBe(true);
    expect(lines.sort()).toEqual(['one', 'three', 'two']);
    const log = await readFile(logFile, 'utf8'); // the two streams interleave as they arrive
    expect(log.length).toBe('one\n\nthree\ntwo'.length);
    for (const part of ['one\n', 'three\n', 'two']) expect(log).toContain(part);
  });

  it('returns a tool-failed failure with the tail of the log', async () => {
    const logFile = path.join(dir, 'fail.log');
    const r = await runLogged('/bin/sh', ['-c', 'for i in $(seq 1 20); do echo out$i; done; echo last >&2; exit 2'], { logFile });
    expect(!r.ok && r.error).toMatchObject({ reason: 'tool-failed', tool: '/bin/sh', exitCode: 2 });
    const tail = !r.ok && r.error.reason === 'tool-failed' ? r.error.stderrTail : [];
    expect(tail).toHaveLength(15);
    expect(tail).toContain('last');
  });
});
