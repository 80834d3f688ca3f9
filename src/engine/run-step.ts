// One step of a build, its key known: apply its cached layer, or run it in
// the sandbox (under the key's lock, so two builds sharing a cache build it
// once), pack its change as a layer, move it onto the tree and store it. A
// damaged cached layer is reported, forgotten and built again; it is never
// applied.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { FileDigest, LayerKey } from '../cache/digest.js';
import type { LayerEntry } from '../cache/store.js';
import type { ArchiveState } from '../distro/archive-state.js';
import { FailureError, type SpaceRole } from '../failure.js';
import { throwIfInterrupted } from '../process/interrupt.js';
import { pauseAt } from '../process/test-pause.js';
import { SecretScanner } from '../secrets/scan.js';
import type { Secret } from '../secrets/secret.js';
import { kindOf, type Step, type StepInputs } from '../steps/index.js';
import { captureHooksWrites, listHooks, syncHooksFromTree } from '../steps/hooks-writes.js';
import { scriptName } from '../steps/step.js';
import { formatBytes } from '../util/format.js';
import { resetStepDirs, type BuildDir } from './build-dir.js';
import type { StepReport } from './events.js';
import { checkFetchedState } from './archive-check.js';
import type { SharedFiles } from '../cache/shared-files.js';
import { applyToTree, fetchLayer, layerKindOf, moveToTree, packStep, storeLayer, unpackedSize } from './layer-io.js';
import { keyFor, lookupStep, storeVolatileRecord, type ChainLink, type StepKeys } from './chain.js';
import type { Doing } from './doing.js';
import type { EnginePorts } from './ports.js';
import { makeReproducible } from './reproducible-layer.js';
import { stopwatch } from './stopwatch.js';

export interface StepDone {
  report: Omit<StepReport, 'seconds'>;
  /** Its key (for a step that reads the host, known only now) and its layer's digest: the next step's parent. */
  key: LayerKey;
  digest: FileDigest;
}

export interface StepJob {
  step: Step;
  index: number;
  total: number;
  /** Its keys (chain.ts stepKeys); for a step that reads the host, how its key follows from the layer it made (it runs every time). */
  key: StepKeys | KeyOf;
  inputs: StepInputs;
  /** What the chain walk found for it (its entry and the key it was found under), if any. */
  entry: ChainLink | null;
  /** Whether it may come from the cache (not a network step under --refresh). */
  useCached: boolean;
}

/** A layer just made: its digest, and the search path's volatile paths its change held (before they were removed), sorted. */
export interface MadeLayer {
  layer: FileDigest;
  heldVolatile: string[];
}

/** Where a layer just made is stored (chain.ts keyFor). */
type KeyOf = (made: MadeLayer) => ReturnType<typeof keyFor>;

export interface StepEnv {
  dir: BuildDir;
  ports: EnginePorts;
  imageName: string;
  /** The build's SOURCE_DATE_EPOCH (reproducible-layer.ts): no mtime in a layer is later. */
  sourceDateEpoch: number;
  /** The build's secrets: hooks are offered them, and their layers are checked for them. */
  secrets: readonly Secret[];
  hostWritable: readonly string[];
  /** Told what the step is doing, for a failure that cuts it short (doing.ts). */
  doing: Doing;
  /** What the tree and the overlay are on. */
  workRole: SpaceRole;
  /** The archive state the network steps are keyed with; null when the build has none. */
  archive: ArchiveState | null;
  /** The checkpoints' files a built step's files may be linked from (shared-files.ts); none without checkpoints. */
  shared?: SharedFiles;
}

/** The report of a step taken from the cache without running it. */
export function cachedReport(step: Step, index: number, key: LayerKey, entry: LayerEntry): StepReport {
  return { index, id: step.id, phase: step.phase, status: 'cached', seconds: 0, layerSize: entry.size, key, layer: entry.metadata.digest };
}

export async function runOrApply(job: StepJob, env: StepEnv): Promise<StepDone> {
  const { step, index, total } = job;
  const { dir, ports } = env;
  const store = ports.store;
  const name = String(index).padStart(3, '0');
  const applyCached = async (key: LayerKey, entry: LayerEntry): Promise<StepDone | null> => {
    env.doing.now({ what: `applying the cached layer of ${step.id}`, writesTo: [env.workRole], estimate: async () => unpackedSize(entry) });
    const fetched = await fetchLayer(store!, entry, dir.spool, name);
    if ('damaged' in fetched) {
      ports.emit({ type: 'note', message: `cached layer of ${step.id} is damaged (${fetched.damaged}); removed it and building the step again` });
      return null;
    }
    await applyToTree(fetched.file, dir.tree);
    const { seconds: _, ...report } = cachedReport(step, index, key, entry);
    return { report, key, digest: entry.metadata.digest };
  };

  const { key } = job;
  // A step that reads the host runs every time: its key is known once its layer is.
  if (typeof key === 'function') return buildStep(job, env, key);
  if (job.useCached) {
    const link = job.entry ?? (await lookupStep(store!, key, layerKindOf(step)));
    if (link) {
      ports.emit({ type: 'step-start', index, total, step, cached: true });
      const done = await applyCached(link.key, link.entry);
      if (done) return done;
    }
  }
  const buildIt = async (): Promise<StepDone> => {
    if (job.useCached) {
      const again = await lookupStep(store!, key, layerKindOf(step));
      if (again) {
        const done = await applyCached(again.key, again.entry);
        if (done) return done;
      }
    }
    return buildStep(job, env, (made) => keyFor(key, made.heldVolatile));
  };
  throwIfInterrupted(ports.signal);
  // Locked by the key images share: two builds of it, whichever images they make, run it once.
  return store ? store.withKeyLock(key.free, buildIt) : buildIt();
}

/**
 * Runs the step, packs its change, moves it onto the tree and stores it
 * under `keyOf(the layer made)` (and its volatile record beside it). An outside step's writes into the hooks tree go
 * into its layer (hooks-writes.ts); the change is made reproducible
 * (reproducible-layer.ts) before it is packed, so that its layer, and with
 * it every key after it, is a function of what the step wrote.
 */
async function buildStep(job: StepJob, env: StepEnv, keyOf: KeyOf): Promise<StepDone> {
  const { step, index, total } = job;
  const { dir, ports } = env;
  const store = ports.store;
  const name = String(index).padStart(3, '0');
  ports.emit({ type: 'step-start', index, total, step, cached: false });
  env.doing.now({ what: step.kind === 'base' ? `making the base tree (${step.id})` : `running ${step.id}`, writesTo: [env.workRole, 'build directory'] });
  await resetStepDirs(dir);
  await syncHooksFromTree(dir.tree, dir.hooks);
  const hooksBefore = step.place === 'outside' ? await listHooks(dir.hooks) : null;
  const logFile = path.join(dir.logs, `${name}-${step.id.replace(/\//g, '_')}.log`);
  const kind = kindOf(step);
  await kind.exec(step, job.inputs.runEnv, {
    tree: dir.tree,
    ...dir.step,
    hooksDir: dir.hooks,
    logFile,
    sandbox: await ports.sandbox(),
    bootstrap: ports.bootstrap,
    sourceDateEpoch: env.sourceDateEpoch,
    secrets: env.secrets,
    hostWritable: env.hostWritable,
    onLine: (stream, line) => ports.emit({ type: 'step-line', step, stream, line }),
    signal: ports.signal,
  });
  throwIfInterrupted(ports.signal);
  if (env.archive) await checkFetchedState(step.id, env.archive, dir.step.upper);
  if (hooksBefore) {
    const { removed } = await captureHooksWrites(dir.hooks, hooksBefore, dir.step.upper, dir.tree);
    if (removed.length > 0) ports.emit({ type: 'warning', message: `${step.id} removed ${removed.join(', ')} from $TMP_HOOKS_PATH: a later build that takes this step from the cache will still have them` });
  }
  // The base step's upper dir is a whole tree, over nothing.
  const { heldVolatile } = await makeReproducible(dir.step.upper, kind.layer === 'tree' ? null : dir.tree, env.sourceDateEpoch, {
    everyMtime: kind.readsHost(step),
    volatile: job.inputs.volatile ?? [],
    scope: job.inputs.volatileScope ?? [],
  });
  ports.emit({ type: 'activity', source: step.id, text: 'packing the layer' });
  env.doing.now({ what: `packing the layer of ${step.id}`, writesTo: [env.workRole] });
  const timing = stopwatch();
  // A step offered secrets must not have copied one into the tree: its layer is checked as it is packed.
  const scanner = (job.inputs.secrets ?? []).length > 0 ? new SecretScanner(env.secrets) : null;
  const layer = await packStep(dir.step.upper, kind.layer, dir.spool, name, {
    ...(scanner ? { onTar: (chunk: Buffer) => scanner.feed(chunk) } : {}),
    ...(ports.signal ? { signal: ports.signal } : {}),
  });
  const leaked = scanner?.ids() ?? [];
  if (leaked.length > 0) {
    await rm(layer.file, { force: true });
    throw new FailureError({ reason: 'secret-in-layer', element: kind.owner(step), phase: step.phase, script: scriptName(step), secrets: leaked });
  }
  timing.lap(`packed ${layer.pack.entries} entries, ${formatBytes(layer.pack.uncompressedSize)} -> ${formatBytes(layer.size)},`);
  await pauseAt('pack');
  env.doing.now({ what: `moving the layer of ${step.id} onto the tree`, writesTo: [env.workRole] });
  const linked = await moveToTree(layer, dir.tree, env.shared);
  timing.lap(linked.files > 0 ? `moved onto the tree, ${linked.files} files (${formatBytes(linked.bytes)}) linked from tree checkpoints,` : 'moved onto the tree');
  throwIfInterrupted(ports.signal);
  const { key, record } = keyOf({ layer: layer.digest, heldVolatile });
  if (store) {
    env.doing.now({ what: `storing the layer of ${step.id}`, writesTo: ['cache'], estimate: async () => layer.size });
    // A layer keyed by a volatile record names it, so that `cache push` of any image that uses the layer sends the record too.
    await storeLayer(store, key, layerKindOf(step), layer, { image: env.imageName, step: step.id, ...(record ? { volatileRecord: record.key } : {}) });
    if (record) await storeVolatileRecord(store, record, { image: env.imageName, step: step.id });
    timing.lap('stored');
  }
  timing.sayIfSlow(ports.emit, step.id);
  await resetStepDirs(dir);
  return { report: { index, id: step.id, phase: step.phase, status: 'built', layerSize: layer.size, key, layer: layer.digest, log: logFile }, key, digest: layer.digest };
}
