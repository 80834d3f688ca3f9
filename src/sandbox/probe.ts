// Can this kernel (and whatever confines us) run the container sandbox? Tried
// once per process: unshare with the sandbox's own flags, then an overlay
// mount inside the new mount namespace, on the filesystem of the state dir.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../process/run.js';
import { UNSHARE_FLAGS } from './container.js';
import { findTool } from './host-tools.js';

export type ProbeResult = { ok: true } | { ok: false; why: string };

let cached: Promise<ProbeResult> | undefined;

export function probeContainer(stateDir: string): Promise<ProbeResult> {
  cached ??= probe(stateDir);
  return cached;
}

async function probe(stateDir: string): Promise<ProbeResult> {
  const unshare = await findTool('unshare');
  const mount = await findTool('mount');
  if (unshare === undefined || mount === undefined) return { ok: false, why: 'unshare or mount (util-linux, mount) is not installed' };
  await mkdir(stateDir, { recursive: true });
  const dir = await mkdtemp(path.join(stateDir, '.probe-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(path.join(dir, d));
    const options = `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`;
    // Failing is an answer here, not an error: the caller falls back to chroot.
    const done = await run(unshare, [...UNSHARE_FLAGS, '--', mount, '-t', 'overlay', '-o', options, 'overlay', `${dir}/merged`], { extendEnv: false, check: false });
    if (!done.ok) return { ok: false, why: `unshare could not be started: ${done.error.reason === 'tool-failed' ? done.error.stderrTail.join(' ') : done.error.reason}` };
    const { exitCode, stdout, stderr } = done.value;
    if (exitCode === 0) return { ok: true };
    return { ok: false, why: `unshare/overlay in a new mount namespace failed: ${(stderr || stdout).trim() || `exit ${exitCode}`}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
