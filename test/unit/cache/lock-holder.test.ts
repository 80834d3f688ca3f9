import { copyFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { currentHolder, holderIsAlive, parseHolder, processStartTime } from '../../../src/cache/lock-holder.js';
import { scratchDir } from '../../support/run-dir.js';

describe('lock holders', () => {
  it('reads the start time of a process whose name holds spaces and parentheses', async () => {
    const dir = await scratchDir('holder');
    const odd = path.join(dir, 'a) b (c');
    await copyFile('/bin/sleep', odd);
    await chmod(odd, 0o755);
    const child = execa(odd, ['30'], { reject: false });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const stat = await execa('cat', [`/proc/${child.pid}/stat`]);
      expect(stat.stdout).toContain('(a) b (c)');
      const t = processStartTime(child.pid!);
      expect(t).toMatch(/^\d+$/);
      expect(t).toBe(stat.stdout.slice(stat.stdout.lastIndexOf(')') + 2).split(' ')[19]);
    } finally {
      child.kill('SIGKILL');
      await child;
    }
    expect(processStartTime(child.pid!)).toBeNull();
  });

  it('sees itself alive, and dead once its pid or start time does not match', () => {
    const me = currentHolder('t');
    expect(holderIsAlive(me, 0, 1)).toBe(true);
    expect(holderIsAlive({ ...me, startTime: `${me.startTime}0` }, 0, 1)).toBe(false);
    expect(holderIsAlive({ ...me, pid: 2 ** 22 + 1 }, 0, 1)).toBe(false);
  });

  it('parses what it writes and refuses garbage', () => {
    const me = currentHolder('tok');
    expect(parseHolder(JSON.stringify(me))).toEqual(me);
    expect(parseHolder('{"pid":"x"}')).toBeNull();
    expect(parseHolder('not json')).toBeNull();
  });
});
