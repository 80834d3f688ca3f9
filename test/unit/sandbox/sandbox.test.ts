import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_KINDS, chooseSandbox } from '../../../src/sandbox/sandbox.js';

describe('the sandbox registry', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sandbox-registry-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('names every kind once, as --sandbox offers them', () => {
    expect(SANDBOX_KINDS).toEqual(['chroot', 'container']);
  });

  it('makes the kind asked for', async () => {
    const chosen = await chooseSandbox('chroot', dir);
    expect(chosen.sandbox.kind).toBe('chroot');
    // It says what it cannot do whenever it is chosen.
    expect(chosen.note).toMatch(/^the chroot sandbox runs hooks outside the tree .* on the host itself, where they can write anywhere/);
  });

  it('with auto prefers the container sandbox and says why when it falls back to chroot', async () => {
    const chosen = await chooseSandbox('auto', dir);
    expect(SANDBOX_KINDS).toContain(chosen.sandbox.kind);
    if (chosen.sandbox.kind === 'container') expect(chosen.note).toBeUndefined();
    else expect(chosen.note).toMatch(/^using the chroot sandbox: /);
  });
});
