import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroup } from '../../../src/process/group.js';

describe('startGroup', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'process-group-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('streams lines of both streams (a last line without newline too) and logs everything', async () => {
    const lines: string[] = [];
    const logFile = path.join(dir, 'lines.log');
    const group = startGroup('/bin/sh', ['-c', 'printf "a\\nb"; printf "c\\n" >&2; printf "é\\n"'], {
      env: { ONLY: 'this' },
      logFile,
      onLine: (stream, line) => lines.push(`${stream}:${line}`),
    });
    expect(await group.exited).toEqual({ exitCode: 0, signal: null });
    await group.finished();
    expect(lines.filter((l) => l.startsWith('stdout'))).toEqual(['stdout:a', 'stdout:bé']);
    expect(lines.filter((l) => l.startsWith('stderr'))).toEqual(['stderr:c']);
    const log = await readFile(logFile, 'utf8');
    // Raw bytes in arrival order: stderr's chunk may land between stdout's "b" and "é".
    expect(log).toContain('c\n');
    expect(log.replace('c\n', '')).toBe('a\nbé\n');
  });

  it('masks each whole line before it reaches the log or the callback, even when it arrives in pieces', async () => {
    const lines: string[] = [];
    const logFile = path.join(dir, 'masked.log');
    const mask = (line: Buffer): Buffer => Buffer.from(line.toString('latin1').split('hush-hush-value').join('***'), 'latin1');
    // The value is printed in two writes with a pause between: two chunks on the pipe.
    const script = 'printf "a hush-hu"; sleep 0.2; printf "sh-value b\\n"; printf "hush-hush-value" >&2; printf "\\377 end"';
    const group = startGroup('/bin/sh', ['-c', script], { env: {}, logFile, onLine: (stream, line) => lines.push(`${stream}:${line}`), mask });
    await group.exited;
    await group.finished();
    expect(lines.sort()).toEqual(['stderr:***', 'stdout:\uFFFD end', 'stdout:a *** b'].sort());
    const log = await readFile(logFile);
    expect(log.includes('hush-hush-value')).toBe(false);
    expect(log.includes(Buffer.from([0xff]))).toBe(true);
  });

  it('passes exactly the given environment', async () => {
    const lines: string[] = [];
    const group = startGroup('/usr/bin/env', [], { env: { ONLY: 'this' }, logFile: path.join(dir, 'env.log'), onLine: (_s, l) => lines.push(l) });
    await group.exited;
    await group.finished();
    expect(lines).toEqual(['ONLY=this']);
  });

  it('kills a group that ignores SIGTERM, children included', async () => {
    const lines: string[] = [];
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    const group = startGroup('/bin/sh', ['-c', "trap '' TERM; sleep 600 & echo $!; wait"], {
      env: {},
      logFile: path.join(dir, 'kill.log'),
      onLine: (_s, line) => {
        lines.push(line);
        ready();
      },
    });
    await started;
    await group.terminate(200);
    group.killRest();
    await group.finished();
    expect(await group.exited).toEqual({ exitCode: null, signal: 'SIGKILL' });
    // The background sleep is gone (or a zombie waiting for its new parent to reap it).
    const state = await readFile(`/proc/${Number(lines[0])}/stat`, 'utf8').catch(() => 'gone');
    expect(state === 'gone' || state.slice(state.lastIndexOf(')') + 2).startsWith('Z')).toBe(true);
  });
});
