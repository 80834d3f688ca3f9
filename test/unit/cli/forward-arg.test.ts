import { describe, expect, it } from 'vitest';
import { parseForwards } from '../../../src/cli/forward-arg.js';
import { failureOf } from '../../support/failure-of.js';

describe('parseForwards', () => {
  it('takes GUEST (same port on the host) and HOST:GUEST', () => {
    expect(parseForwards(['5000', '15000:35357'])).toEqual([{ host: 5000, guest: 5000 }, { host: 15000, guest: 35357 }]);
  });

  it.each(['', 'x', '0', '70000', '1:2:3', '127.0.0.1:80:80', '-5'])('refuses %j, saying what it expects', async (v) => {
    expect(await failureOf(() => parseForwards([v]))).toMatchObject({ reason: 'usage', message: expect.stringContaining('expected [HOST_PORT:]GUEST_PORT') });
  });

  it('refuses one host port forwarded twice', async () => {
    expect(await failureOf(() => parseForwards(['5000', '5000:22']))).toMatchObject({ reason: 'usage', message: '--forward: host port 5000 is forwarded twice' });
  });
});
