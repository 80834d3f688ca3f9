// The container sandbox: unshare(1) gives the step its own mount, PID, IPC and
// UTS namespaces; ns-init, PID 1 there, mounts the overlay and the binds inside
// that private mount namespace (which otherwise sees the host, so a step
// running outside finds the merged view at TARGET_ROOT) and runs the command.
// Nothing is ever mounted in the host namespace, and when ns-init exits the
// kernel kills every process left in the namespace.
import { mkdir, realpath } from 'node:fs/promises';
import { FailureError } from '../failure.js';
import { requireTool } from './host-tools.js';
import { hostView, planMounts, secretsDir } from './mount-plan.js';
import { StateRecord } from './state.js';
import { commandEnv, scratchLayout, type Sandbox, type StepOutcome, type StepRun } from './step.js';
import { guarded, runLaunch } from './step-runner.js';

/** unshare flags: the namespaces, a fresh /proc for the new PID namespace, and death of PID 1 if unshare dies. */
export const UNSHARE_FLAGS = ['--mount', '--propagation', 'private', '--pid', '--ipc', '--uts', '--fork', '--kill-child=SIGKILL', '--mount-proc'];

export class ContainerSandbox implements Sandbox {
  readonly kind = 'container' as const;

  constructor(private readonly stateDir: string) {}

  run(step: StepRun): Promise<StepOutcome> {
    return guarded(step, (stop) => this.runGuarded(step, stop));
  }

  private async runGuarded(input: StepRun, stop: AbortSignal): Promise<StepOutcome> {
    const unshare = await requireTool('unshare', 'util-linux');
    const chrootBin = await requireTool('chroot', 'coreutils');
    const mountBin = await requireTool('mount', 'mount');
    await mkdir(input.mergedDir, { recursive: true });
    const step = { ...input, mergedDir: await realpath(input.mergedDir) };
    const record = await StateRecord.create(this.stateDir, 'container', step.mergedDir);
    try {
      const plan = await planMounts(step, record.state.scratchDir);
      if (!plan.ok) throw new FailureError(plan.error);
      return await runLaunch(
        step,
        record,
        {
          prefix: [unshare, ...UNSHARE_FLAGS, '--'],
          spec: {
            mountBin,
            mounts: plan.value.map((op) => op.args),
            hostView: hostView(step, record.state.scratchDir),
            hostname: step.hostname,
            root: step.inside ? step.mergedDir : null,
            chrootBin,
            argv: step.argv,
            env: commandEnv(step, scratchLayout(record.state.scratchDir)),
            cwd: '/',
          },
          secretsDir: secretsDir(plan.value),
          afterExit: async () => undefined, // the PID namespace died with its init
        },
        stop,
      );
    } finally {
      await record.remove();
    }
  }
}
