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
  /** What it cannot keep hooks from doing, said whenever it is chosen. */
  caveat?: string;
}

const ALWAYS: SandboxEntry['probe'] = async () => ({ ok: true });

/** Every sandbox kind, in order of preference for `auto`. */
const SANDBOXES = {
  container: { probe: probeContainer, create: (stateDir) => new ContainerSandbox(stateDir) },
  chroot: {
    probe: ALWAYS,
    create: (stateDir) => new ChrootSandbox(stateDir),
    caveat: 'the chroot sandbox runs hooks outside the tree (root.d, extra-data.d, post-root.d, block-device.d, pre-finalise.d, cleanup.d) on the host itself, where they can write anywhere (docs/security.md)',
  },
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
    const entry: SandboxEntry = SANDBOXES[kind];
    const probe = await entry.probe(stateDir);
    if (probe.ok) {
      const notes = [...(passed.length > 0 ? [`using the ${kind} sandbox: ${passed.join('; ')}`] : []), ...(entry.caveat ? [entry.caveat] : [])];
      return { sandbox: entry.create(stateDir), ...(notes.length > 0 ? { note: notes.join('; ') } : {}) };
    }
    if (wanted !== 'auto') {
      const others = SANDBOX_KINDS.filter((k) => k !== kind).join(' or ');
      throw new FailureError({ reason: 'host-missing', what: `${kind} sandbox`, hint: `${probe.why}; use --sandbox ${others}` });
    }
    passed.push(probe.why);
  }
  throw new FailureError({ reason: 'host-missing', what: 'a sandbox', hint: `none works here: ${passed.join('; ')}` });
}
