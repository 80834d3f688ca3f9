// imgfactory's run-hook, run by a real bash: environment.d is sourced as
// dib-run-parts sources it, under `set -eu -o pipefail`.
import { execa } from 'execa';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_HOOK, SUDO_STAND_IN } from '../../../src/steps/helper-scripts.js';
import { scratchDir } from '../../support/run-dir.js';

/** A hooks tree with these environment.d snippets and install.d/10-show (prints $SHOWN), run through run-hook. */
async function runHook(snippets: Record<string, string>): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const hooks = await scratchDir('run-hook');
  await mkdir(path.join(hooks, 'environment.d'));
  await mkdir(path.join(hooks, 'install.d'));
  for (const [name, text] of Object.entries(snippets)) await writeFile(path.join(hooks, 'environment.d', name), text);
  await writeFile(path.join(hooks, 'install.d', '10-show'), '#!/bin/bash\necho "shown=${SHOWN:-}"\n');
  await chmod(path.join(hooks, 'install.d', '10-show'), 0o755);
  await writeFile(path.join(hooks, 'run-hook'), RUN_HOOK);
  const r = await execa('bash', [path.join(hooks, 'run-hook'), 'install.d', '10-show'], { env: { TMP_HOOKS_PATH: hooks, PATH: '/usr/bin:/bin' }, extendEnv: false, reject: false });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('run-hook', () => {
  it('sources environment.d in name order before the hook', async () => {
    const r = await runHook({ '20-b': 'export SHOWN="$SHOWN-b"\n', '10-a': 'export SHOWN=a\n' });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'shown=a-b' });
  });

  it('fails the hook on an environment.d snippet that reads an unset variable or runs a failing pipeline, as dib-run-parts does (set -eu -o pipefail)', async () => {
    const unset = await runHook({ '10-unset': 'export SHOWN="$NOT_SET_ANYWHERE"\n' });
    expect(unset.exitCode).not.toBe(0);
    expect(unset.stderr).toContain('NOT_SET_ANYWHERE: unbound variable');
    expect(unset.stdout).toBe('');
    const pipeline = await runHook({ '10-pipe': 'false | true\nexport SHOWN=after\n' });
    expect(pipeline.exitCode).not.toBe(0);
    expect(pipeline.stdout).toBe('');
  });
});

describe("the sudo stand-in", () => {
  async function sudo(args: string[]): Promise<string> {
    const dir = await scratchDir('sudo');
    await writeFile(path.join(dir, 'sudo'), SUDO_STAND_IN);
    const r = await execa('bash', [path.join(dir, 'sudo'), ...args, 'sh', '-c', 'echo "tmpdir=${TMPDIR-unset} kept=${KEPT-unset}"'], { env: { PATH: '/usr/bin:/bin', TMPDIR: '/host/scratch/tmp', KEPT: 'yes' }, extendEnv: false });
    return r.stdout;
  }

  it("drops TMPDIR as sudo's env_reset does, so a chroot's maintainer scripts do not see the host's scratch path; -E keeps it", async () => {
    expect(await sudo([])).toBe('tmpdir=unset kept=yes');
    expect(await sudo(['-u', 'root'])).toBe('tmpdir=unset kept=yes');
    expect(await sudo(['-E'])).toBe('tmpdir=/host/scratch/tmp kept=yes');
    expect(await sudo(['--preserve-env=http_proxy'])).toBe('tmpdir=/host/scratch/tmp kept=yes');
  });
});
