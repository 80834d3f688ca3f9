// DIB's `break=`: which points it names, where they fall between a plan's
// steps, and the refusal when there is no terminal for the shell. The shell
// itself is opened through a pseudo-terminal in test/integration/dib-elements.root.test.ts.
import { describe, expect, it } from 'vitest';
import { breakRequest, parseBreak, placeBreaks } from '../../../src/engine/break-points.js';
import { FailureError } from '../../../src/failure.js';
import { PHASE_ORDER } from '../../../src/plan/plan.js';
import type { StepPhase } from '../../../src/steps/index.js';

describe('parseBreak', () => {
  it('reads a comma list of the points DIB knows', () => {
    expect(parseBreak('before-install,after-error,after-extra-data')).toEqual([
      { at: 'before', phase: 'install.d', place: 'inside' },
      { at: 'error' },
      { at: 'after', phase: 'extra-data.d', place: 'outside' },
    ]);
    expect(parseBreak(undefined)).toEqual([]);
    expect(parseBreak('')).toEqual([]);
  });

  it('refuses a point DIB does not know, and says which ones it does', () => {
    const refused = (value: string): FailureError => {
      try {
        parseBreak(value);
      } catch (e) {
        return e as FailureError;
      }
      throw new Error(`break=${value} was accepted`);
    };
    expect(refused('before-instal').failure).toMatchObject({ reason: 'usage', message: 'break=before-instal: "before-instal" is not a break point' });
    expect(refused('before-instal').failure).toMatchObject({ hint: expect.stringContaining('pre-install, install, post-install') });
    expect(refused('after-block-device').failure).toMatchObject({ hint: expect.stringContaining('when the disk is assembled') });
  });
});

describe('placeBreaks', () => {
  const phases: StepPhase[] = ['root.d', 'root.d', 'extra-data.d', 'install.d', 'install.d', 'cleanup.d', 'finalise-tree'];
  it('puts before- at the first step of the phase and after- after its last', () => {
    const placed = placeBreaks(parseBreak('before-install,after-install,after-root,after-error'), phases, PHASE_ORDER);
    expect([...placed.at.entries()]).toEqual([
      [3, [{ name: 'before-install', place: 'inside' }]],
      [5, [{ name: 'after-install', place: 'inside' }]],
      [2, [{ name: 'after-root', place: 'outside' }]],
    ]);
    expect(placed.first).toBe(2);
    expect(placed.onError).toBe(true);
  });

  it('places a phase without steps where it would run, as DIB checks it all the same', () => {
    const placed = placeBreaks(parseBreak('before-post-install,after-finalise'), phases, PHASE_ORDER);
    expect([...placed.at.entries()]).toEqual([[5, [{ name: 'before-post-install', place: 'inside' }, { name: 'after-finalise', place: 'inside' }]]]);
    expect(placeBreaks(parseBreak('after-error'), phases, PHASE_ORDER)).toEqual({ at: new Map(), first: phases.length, onError: true });
  });
});

describe('breakRequest', () => {
  it('is null without break', async () => {
    expect(await breakRequest({}, { fd: 0 }, {})).toBeNull();
  });

  it('refuses before the build when imgfactory is not on a terminal', async () => {
    await expect(breakRequest({ break: 'after-error' }, { isTTY: false, fd: 0 }, { isTTY: false })).rejects.toMatchObject({
      failure: { reason: 'usage', message: 'break=after-error opens an interactive shell, but imgfactory is not running on a terminal' },
    });
  });
});
