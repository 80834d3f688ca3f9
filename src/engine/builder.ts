// The composition root of a build: wires the real ports (the layer store with
// its remote caches, the sandbox chosen for this host, mmdebstrap, the archive
// state as --archive-state says) to the orchestrator (orchestrator.ts); after
// the outputs are written, pushes the chain to --cache-to and records the
// archive state it read in the cache.
import type { LayerKey } from '../cache/digest.js';
import { CachingLayerStore, layerStoreFor, type RemoteCacheSettings, type RemoteSummary } from '../cache/remote/caching-store.js';
import type { LayerStore } from '../cache/store.js';
import { bootstrap } from '../distro/bootstrap.js';
import { archiveSuites } from '../distro/sources.js';
import { archiveSource, type ArchiveStateMode } from './archive-source.js';
import { chooseSandbox, type Sandbox, type SandboxKind } from '../sandbox/sandbox.js';
import { sandboxStateDir } from './build-dir.js';
import type { EventSink, StepReport } from './events.js';
import { orchestrate, type BuildOutcome, type BuildRequest } from './orchestrator.js';

export interface BuildOptions extends BuildRequest {
  /** Where the archive state comes from (--archive-state; archive-source.ts). */
  archiveState: ArchiveStateMode;
  /** --cache-from / --cache-to and friends (null: local cache only). */
  remoteCache?: RemoteCacheSettings | null;
  sandbox: SandboxKind | 'auto';
  emit: EventSink;
  signal: AbortSignal;
}

export interface BuildResult extends BuildOutcome {
  /** Per remote cache: hits, misses, bytes, and why it was given up on (if it was). */
  remote: RemoteSummary[];
}

export async function build(o: BuildOptions): Promise<BuildResult> {
  const store = o.cacheDir ? await layerStoreFor(o.cacheDir, o.imageName, o.remoteCache ?? null, (message) => o.emit({ type: 'warning', message })) : null;
  let sandbox: Promise<Sandbox> | undefined;
  const archive = archiveSource({ mode: o.archiveState, suites: archiveSuites(o.distro), cacheDir: o.cacheDir, note: (message) => o.emit({ type: 'note', message }), signal: o.signal });
  const outcome = await orchestrate(o, {
    store,
    sandbox: () =>
      (sandbox ??= chooseSandbox(o.sandbox, sandboxStateDir(o.buildRoot)).then(({ sandbox: chosen, note }) => {
        if (note) o.emit({ type: 'note', message: note });
        return chosen;
      })),
    bootstrap,
    archiveState: archive.read,
    emit: o.emit,
    signal: o.signal,
    afterSteps: (steps) => pushRemote(store, o, steps),
  });
  await archive.record();
  return { ...outcome, remote: store instanceof CachingLayerStore ? store.summary() : [] };
}

/** After a build: --cache-to gets the chain (and outputs; everything with --cache-mode max). */
async function pushRemote(store: LayerStore | null, o: BuildOptions, steps: StepReport[]): Promise<void> {
  if (!(store instanceof CachingLayerStore) || !store.to) return;
  const report = await store.push(o.imageName, steps.map((s) => s.key as LayerKey));
  if (report) o.emit({ type: 'note', message: `pushed ${report.entries} cache entries to ${store.to.ref.text}: ${report.blobsPushed} blobs uploaded, ${report.blobsSkipped} already there` });
}
