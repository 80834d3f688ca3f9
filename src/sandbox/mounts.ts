// Making and undoing mounts in the host's mount namespace (the chroot
// sandbox, and stale-mount recovery). Unmounting retries a busy mount a few
// times and falls back to a lazy unmount, so clean-up always finishes, also
// after imgfactory was interrupted (which stops every other program).
import { fail, ok, type Result } from '../failure.js';
import { run } from '../process/run.js';
import { requireTool } from './host-tools.js';
import { readMountInfo } from './mountinfo.js';

export async function mount(args: string[]): Promise<Result<void>> {
  const bin = await requireTool('mount', 'mount');
  const done = await run(bin, args, { extendEnv: false, check: false });
  if (!done.ok) return done;
  const { exitCode, stdout, stderr } = done.value;
  if (exitCode === 0) return ok(undefined);
  return fail({ reason: 'io', what: `mount ${args.join(' ')}`, message: stderr.trimEnd() || stdout.trimEnd() || `exit ${exitCode}` });
}

export type UnmountResult = 'unmounted' | 'lazy' | 'absent';

/** Unmounts the topmost mount at `target`; 'lazy' when it stayed busy and was detached instead. */
export async function unmount(target: string): Promise<UnmountResult> {
  const bin = await requireTool('umount', 'mount');
  if (!(await isMountPoint(target))) return 'absent';
  for (let attempt = 0; attempt < 5; attempt++) {
    const done = await run(bin, [target], { extendEnv: false, interruptible: false });
    if (done.ok) return 'unmounted';
    if (!(await isMountPoint(target))) return 'absent';
    await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
  }
  await run(bin, ['--lazy', target], { extendEnv: false, interruptible: false }); // the last resort: nothing left to try if it fails
  return 'lazy';
}

export async function isMountPoint(target: string): Promise<boolean> {
  return (await readMountInfo()).some((e) => e.mountPoint === target);
}
