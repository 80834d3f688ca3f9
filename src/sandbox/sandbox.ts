// The sandbox interface (re-exported from step.ts) and the choice between its
// two implementations: `container` (namespaces, nothing mounted on the host)
// where the kernel allows it, otherwise `chroot` (mounts in the host
// namespace, recorded so that recoverStale can undo them after a crash).
import { FailureError } from '../failure.js';
import { ChrootSandbox } from './chroot.js';
import { ContainerSandbox } from './container.js';
import { probeContainer } from './probe.js';
import type { Sandbox } from './step.js';

export type { Bind, OverlayRun, ReadOnlyRun, Sandbox, StepOutcome, StepRun } from './step.js';
export { recoverStale } from './stale.js';

export type SandboxKind = Sandbox['kind'];

/**
 * The sandbox to run steps in. `stateDir` holds the records of running steps
 * (pass the same directory to recoverStale); a note says why `auto` fell back
 * to chroot. Asking for `container` where it cannot work is a host-missing failure.
 */
export async function chooseSandbox(wanted: SandboxKind | 'auto', stateDir: string): Promise<{ sandbox: Sandbox; note?: string }> {
  if (wanted === 'chroot') return { sandbox: new ChrootSandbox(stateDir) };
  const probe = await probeContainer(stateDir);
  if (probe.ok) return { sandbox: new ContainerSandbox(stateDir) };
  if (wanted === 'container') {
    throw new FailureError({ reason: 'host-missing', what: 'container sandbox', hint: `${probe.why}; use --sandbox chroot` });
  }
  return { sandbox: new ChrootSandbox(stateDir), note: `using the chroot sandbox: ${probe.why}` };
}
