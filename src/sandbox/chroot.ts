// The chroot sandbox: the overlay and every bind are mounted in the host's
// mount namespace (each recorded in the step's state file first, so a killed
// build can be cleaned up by the next one), the command runs chrooted in the
// merged tree (or on the host with TARGET_ROOT), and everything mounted at
// or below the merged dir (and the step's scratch dir, where the secrets'
// tmpfs of a step run outside the tree is) is unmounted afterwards, deepest
// first, whatever happened: its own mounts and any the command made and left
// (a bootstrap killed before it unmounted its /proc). The only namespace it
// may use is a UTS one, when a hostname is asked for.
import { mkdir, realpath } from 'node:fs/promises';
import { FailureError } from '../failure.js';
import { requireTool } from './host-tools.js';
import { planMounts, secretsDir } from './mount-plan.js';
import { mountsUnder, readMountInfo } from './mountinfo.js';
import { mount, unmount } from './mounts.js';
import { killProcessesIn } from './processes.js';
import { StateRecord } from './state.js';
import { commandEnv, scratchLayout, type Sandbox, type StepOutcome, type StepRun } from './step.js';
import { guarded, runLaunch } from './step-runner.js';

export class ChrootSandbox implements Sandbox {
  readonly kind = 'chroot' as const;

  constructor(private readonly stateDir: string) {}

  run(step: StepRun): Promise<StepOutcome> {
    return guarded(step, (stop) => this.runGuarded(step, stop));
  }

  private async runGuarded(input: StepRun, stop: AbortSignal): Promise<StepOutcome> {
    const chrootBin = await requireTool('chroot', 'coreutils');
    const mountBin = await requireTool('mount', 'mount');
    const prefix = input.hostname === undefined ? [] : [await requireTool('unshare', 'util-linux'), '--uts', '--'];
    await mkdir(input.mergedDir, { recursive: true });
    const step = { ...input, mergedDir: await realpath(input.mergedDir) };
    const record = await StateRecord.create(this.stateDir, 'chroot', step.mergedDir);
    try {
      const plan = await planMounts(step, record.state.scratchDir);
      if (!plan.ok) throw new FailureError(plan.error);
      for (const op of plan.value) {
        if (stop.aborted) return { exitCode: null, signal: 'SIGKILL' };
        if (op.creates) await record.addMount(op.target);
        const done = await mount(op.args);
        if (!done.ok) throw new FailureError(done.error);
      }
      return await runLaunch(
        step,
        record,
        {
          prefix,
          spec: {
            mountBin,
            mounts: [],
            // In the host's namespace the host cannot be made read-only for one command (docs/security.md).
            hostView: null,
            hostname: step.hostname,
            root: step.inside ? step.mergedDir : null,
            chrootBin,
            argv: step.argv,
            env: commandEnv(step, scratchLayout(record.state.scratchDir)),
            cwd: '/',
          },
          secretsDir: secretsDir(plan.value),
          // A hook may leave daemons behind, possibly in a new session: anything living in the tree goes.
          afterExit: async () => void (await killProcessesIn(step.mergedDir)),
        },
        stop,
      );
    } finally {
      await killProcessesIn(step.mergedDir);
      // The scratch dir holds the secrets' tmpfs of a step run outside the tree.
      const mounts = await readMountInfo();
      for (const dir of [step.mergedDir, record.state.scratchDir]) for (const entry of mountsUnder(mounts, dir)) await unmount(entry.mountPoint);
      await record.remove();
    }
  }
}
