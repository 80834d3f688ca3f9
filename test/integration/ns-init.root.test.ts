// ns-init's read-only view of the host (container sandbox, a command run
// outside the tree) against the mount tree changing while the view is made:
// another build ending beside this one removes its mount points, and the
// kernel then detaches every copy of those mounts, this namespace's included.
// ns-init runs as the container sandbox starts it (unshare, then node -e), with
// a mount(8) wrapper that makes one mount leave the namespace, or fail,
// between ns-init reading the mount list and remounting it: the one moment a
// real build cannot be made to hit on purpose. Needs root.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNSHARE_FLAGS } from '../../src/sandbox/container.js';
import { INIT_ENV, NS_INIT_SOURCE, writeInitSpec, type InitStatus } from '../../src/sandbox/ns-init.js';
import { scratchLayout } from '../../src/sandbox/step.js';
import { scratchDir } from '../support/run-dir.js';

let dir: string;
let victim: string;

/** Runs ns-init with a host view; `onRemount` runs (sh) before the victim's read-only remount. What ns-init recorded, and the command's marker. */
async function runWithView(name: string, onRemount: string): Promise<{ status: InitStatus; ran: string | undefined; log: string }> {
  const scratch = scratchLayout(path.join(dir, name));
  await mkdir(scratch.init, { recursive: true });
  await mkdir(scratch.tmp, { recursive: true });
  const wrapper = path.join(dir, `${name}-mount`);
  await writeFile(wrapper, `#!/bin/sh\nif [ "$1" = -o ] && [ "$2" = remount,bind,ro ] && [ "$3" = '${victim}' ]; then\n${onRemount}\nfi\nexec /usr/bin/mount "$@"\n`, { mode: 0o755 });
  const probe = path.join(dir, `${name}-probe`);
  const specFile = path.join(dir, `${name}.json`);
  await writeInitSpec(specFile, {
    mountBin: wrapper,
    mounts: [],
    secrets: null,
    hostView: { keep: [], writable: [scratch.init, scratch.tmp] },
    root: null,
    chrootBin: '/usr/sbin/chroot',
    // The host elsewhere must still refuse writes; the view's writable directory must take them.
    argv: ['/bin/sh', '-c', `if touch '${probe}' 2>/dev/null; then r='host writable'; else r='host read-only'; fi; echo "$r" > '${scratch.tmp}/ran'`],
    env: { PATH: INIT_ENV.PATH as string },
    cwd: '/',
    statusFile: path.join(scratch.init, 'status.json'),
  });
  const r = await execa('unshare', [...UNSHARE_FLAGS, '--', process.execPath, '-e', NS_INIT_SOURCE, specFile], { env: INIT_ENV, extendEnv: false, reject: false, all: true });
  const status = JSON.parse(await readFile(path.join(scratch.init, 'status.json'), 'utf8').catch(() => `{"noStatus":${JSON.stringify(r.all)}}`)) as InitStatus;
  const ran = existsSync(path.join(scratch.tmp, 'ran')) ? (await readFile(path.join(scratch.tmp, 'ran'), 'utf8')).trim() : undefined;
  return { status, ran, log: r.all ?? '' };
}

describe('ns-init: the host view while mounts come and go', () => {
  beforeAll(async () => {
    dir = await scratchDir('ns-init');
    victim = path.join(dir, 'victim');
    await mkdir(victim);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'imgfactory-test-victim', victim]);
  });

  afterAll(async () => {
    if (victim !== undefined) await execa('umount', [victim], { reject: false });
  });

  it('skips a mount that left the namespace after it was listed, and still makes the rest read-only', async () => {
    const { status, ran } = await runWithView('gone', `umount '${victim}'`);
    expect(status).toEqual({ exitCode: 0, signal: null });
    expect(ran).toBe('host read-only');
    // Only the namespace's copy went; the host's mount is untouched.
    expect((await execa('findmnt', ['-n', '-o', 'SOURCE', victim])).stdout).toBe('imgfactory-test-victim');
  });

  it('still fails, and says why, when a remount fails on a mount that is there', async () => {
    const { status, ran } = await runWithView('refused', `echo "mount: ${victim}: refused by the test" >&2; exit 32`);
    expect(status).toEqual({ setupError: expect.stringContaining('making the host read-only') });
    expect((status as { setupError: string }).setupError).toContain(`${victim}: refused by the test`);
    expect(ran).toBeUndefined();
  });
});
