// The sandbox interface (re-exported from step.ts) and the registry of its
// implementations: one row per kind, saying how to tell whether it works on
// this host and how to make it. `auto` takes the first row that works, so
// rows are in order of preference: `container` (namespaces, nothing mounted
// on the host) where the kernel allows it, otherwise `chroot` (mounts in the
// host namespace, recorded so that recoverStale can undo them after a crash).
// A new sandbox is one file implementing Sandbox plus one row here.
import { FailureError } from '../failure.js';
import { ChrootSandbox } from './chroot.js';
import { ContainerSandbox } from './container.js';
import { probeContainer, type ProbeResult } from './probe.js';
import type { Sandbox } from './step.js';

export type { Bind, HostRun, OverlayRun, ReadOnlyRun, Sandbox, StepOutcome, StepRun } from './step.js';
export { recoverStale } from './stale.js';

interface SandboxEntry {
  /** Whether this sandbox can work here (tried once per process); `why` says what is missing. */
  probe: (stateDir: string) => Promise<ProbeResult>;
  /** `stateDir` holds the records of running steps (pass the same directory to recoverStale). */
  create: (stateDir: string) => Sandbox;
}

const ALWAYS: SandboxEntry['probe'] = async () => ({ ok: true });

/** Every sandbox kind, in order of preference for `auto`. */
const SANDBOXES = {
  container: { probe: probeContainer, create: (stateDir) => new ContainerSandbox(stateDir) },
  chroot: { probe: ALWAYS, create: (stateDir) => new ChrootSandbox(stateDir) },
} satisfies Record<string, SandboxEntry>;

export type SandboxKind = keyof typeof SANDBOXES;

/** The kinds by name (what `--sandbox` offers besides `auto`). */
export const SANDBOX_KINDS = (Object.keys(SANDBOXES) as SandboxKind[]).sort();

/**
 * The sandbox to run steps in: the one asked for, or with `auto` the first
 * that works here, with a note saying why the ones before it did not. Asking
 * for one that cannot work here is a host-missing failure.
 */
export async function chooseSandbox(wanted: SandboxKind | 'auto', stateDir: string): Promise<{ sandbox: Sandbox; note?: string }> {
  const candidates = wanted === 'auto' ? (Object.keys(SANDBOXES) as SandboxKind[]) : [wanted];
  const passed: string[] = [];
  for (const kind of candidates) {
    const probe = await SANDBOXES[kind].probe(stateDir);
    if (probe.ok) return { sandbox: SANDBOXES[kind].create(stateDir), ...(passed.length > 0 ? { note: `using the ${kind} sandbox: ${passed.join('; ')}` } : {}) };
    if (wanted !== 'auto') {
      const others = SANDBOX_KINDS.filter((k) => k !== kind).join(' or ');
      throw new FailureError({ reason: 'host-missing', what: `${kind} sandbox`, hint: `${probe.why}; use --sandbox ${others}` });
    }
    passed.push(probe.why);
  }
  throw new FailureError({ reason: 'host-missing', what: 'a sandbox', hint: `none works here: ${passed.join('; ')}` });
}
