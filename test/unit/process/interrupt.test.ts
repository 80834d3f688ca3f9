// The one owner of SIGINT and SIGTERM: once caught, the first signal aborts
// the process-wide interruption (programs started through run() stop), the
// default comes back on release, and a second signal exits at once. Each test
// loads the modules afresh (the interruption happens once per process) and
// emits the signal to the process's listeners rather than sending it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type Interrupt = typeof import('../../../src/process/interrupt.js');

let m: Interrupt;
let release: (() => void) | undefined;

beforeEach(async () => {
  vi.resetModules();
  m = await import('../../../src/process/interrupt.js');
});

afterEach(() => {
  release?.();
  release = undefined;
  vi.restoreAllMocks();
});

describe('interruptions', () => {
  it('are not caught until asked for: the listeners are only there while caught', () => {
    const before = process.listenerCount('SIGTERM');
    release = m.catchInterrupts();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(m.catchInterrupts()).toBe(release); // once
    release();
    release = undefined;
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('abort the interruption with the signal, which fails what checks it as interrupted', () => {
    release = m.catchInterrupts();
    expect(m.interruptedBy()).toBeNull();
    expect(() => m.throwIfInterrupted()).not.toThrow();
    process.emit('SIGINT');
    expect(m.interruption.aborted).toBe(true);
    expect(m.interruptedBy()).toBe('SIGINT');
    expect(m.interruptedFailure('running x')).toEqual({ reason: 'interrupted', signal: 'SIGINT', during: 'running x' });
    expect(() => m.throwIfInterrupted()).toThrow(/^interrupted: /); // a FailureError of this module load's failure.ts
  });

  it('stop a program that runs, but not one that cleans up', async () => {
    const { run } = await import('../../../src/process/run.js');
    release = m.catchInterrupts();
    const running = run('sleep', ['30']);
    setTimeout(() => process.emit('SIGTERM'), 100);
    expect(await running).toEqual({ ok: false, error: { reason: 'interrupted', signal: 'SIGTERM' } });
    const cleanup = await run('sh', ['-c', 'echo done'], { interruptible: false });
    expect(cleanup.ok && cleanup.value.stdout).toBe('done\n');
    expect(await run('true', [])).toMatchObject({ ok: false, error: { reason: 'interrupted' } });
  });

  it('exit at once on a second signal, with the first one\'s code', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const forced: string[] = [];
    release = m.catchInterrupts((signal) => forced.push(signal));
    process.emit('SIGTERM');
    expect(exit).not.toHaveBeenCalled();
    process.emit('SIGINT');
    expect(forced).toEqual(['SIGINT']);
    expect(exit).toHaveBeenCalledWith(143);
  });
});
