// What the orchestrator is handed instead of choosing it: the layer store, the
// sandbox, the bootstrapper, the archive's state, where events go and the abort signal. builder.ts
// wires the real ones; tests hand in a fake sandbox and bootstrapper with a
// real store in a temporary directory.
import type { LayerStore } from '../cache/store.js';
import type { ArchiveState } from '../distro/archive-state.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { Bootstrapper } from '../steps/index.js';
import type { EventSink, StepReport } from './events.js';

export interface EnginePorts {
  /** null: --no-cache (build everything, store nothing). */
  store: LayerStore | null;
  /** The sandbox steps run in; asked for only when the build is not a no-op. */
  sandbox: () => Promise<Sandbox>;
  /** Makes the base tree (mmdebstrap). */
  bootstrap: Bootstrapper;
  /** The state of the archive the network steps install from (archive-source.ts); asked for only when the build plans one. */
  archiveState: () => Promise<ArchiveState>;
  emit: EventSink;
  signal: AbortSignal;
  /** After the outputs are written, before the manifest: e.g. push the chain to a remote cache. */
  afterSteps?: (steps: StepReport[]) => Promise<void>;
}
