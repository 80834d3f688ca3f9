// Runs a build: plans the steps, walks the key chain, and then either
// copies the outputs out of the cache (every step and output cached: a
// no-op), or restores the deepest tree checkpoint along the chain, applies or
// runs the steps after it (run-step.ts), writes the outputs and the manifest.
// A step that reads the host (extra-data.d) ends the walk: it runs, its key
// follows from its layer, and the walk goes on from it (a deeper checkpoint
// may then replace the tree).
// The store, the sandbox and the bootstrapper are ports (ports.ts): this file
// chooses none of them. It tells doing.ts what it is doing as it goes, so
// that whatever cuts the build short (SIGINT/SIGTERM, a full disk) is
// reported in those terms; the build directory goes whatever happens.
//
//   plan ─► inputs ─► walkChain ─┬─ all cached + outputs cached ─► copy outputs ──────────────┐
//                                └─ restoreDeepest ─► runOrApply × n ─► outputs ──────────────┴─► manifest
//                                        ▲              │ a step that reads the host ran
//                                        └─ walkChain ◄─┘
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { FileDigest, LayerKey } from '../cache/digest.js';
import type { KnownDigests } from '../cache/tree-record.js';
import { archiveKey, type ArchiveState } from '../distro/archive-state.js';
import type { Place } from '../elements/phases.js';
import { FailureError, unwrap, type SpaceRole } from '../failure.js';
import { outputStem, type ManifestPackage } from '../manifest/manifest.js';
import { qcow2ReuseSource } from './disk-output.js';
import { PHASE_ORDER, planBuild, type Plan } from '../plan/plan.js';
import { hookEnv } from '../steps/hook-env.js';
import { installTypeLinks, kindOf, type InputContext, type Step, type StepInputs } from '../steps/index.js';
import { secretRefs } from '../secrets/secret.js';
import { findDibLib } from '../steps/dib-runtime.js';
import { outsideWritable } from '../steps/hook-env.js';
import { prepareInputs } from '../steps/inputs.js';
import { interruption, throwIfInterrupted } from '../process/interrupt.js';
import { createBuildDir, recoverBuilds, removeBuildDir, type BuildDir } from './build-dir.js';
import { Doing, explainFailure, type Places } from './doing.js';
import { SharedFiles } from '../cache/shared-files.js';
import { Checkpointer, keyFor, restoreDeepest, stepKeys, walkChain, type ChainLink } from './chain.js';
import { openShell, placeBreaks, type BreakRequest } from './break-points.js';
import { conditionVars } from './condition-vars.js';
import { emitManifest, type EmittedManifest } from './emit-manifest.js';
import type { StepReport } from './events.js';
import { linkInstallTypes, makeHooksTree } from './hooks-tree.js';
import { manifestRequest, outputRequest, type OutputOptions } from './output-request.js';
import { cachedOutputs, cachedPackages, treePackages, writeOutputs, type OutputFile, type OutputRequest } from './outputs.js';
import type { EnginePorts } from './ports.js';
import { cachedReport, runOrApply, type StepDone, type StepJob } from './run-step.js';
import { chooseScratch, type ScratchMode } from './scratch-fs.js';
import { buildEpoch } from './reproducible-layer.js';

/** What to build: the image and every setting that can change its bytes or where they go. */
export interface BuildRequest extends OutputOptions {
  buildRoot: string;
  /** Where the tree and overlays live (scratch-fs.ts); default 'disk'. */
  scratch?: ScratchMode;
  /** The cache directory (tree checkpoints live there); null with --no-cache. */
  cacheDir: string | null;
  /** Rebuild the network-dependent steps (base tree, package installs) even when cached. */
  refresh: boolean;
  /** DIB's `break=`: where to open a debug shell (break-points.ts); null or absent: nowhere. */
  breakAt?: BreakRequest | null;
  /** `--host-writable`: host directories outside hooks may write besides the build's own (hook-env.ts outsideWritable). */
  hostWritable?: string[];
}

export interface BuildOutcome {
  steps: StepReport[];
  outputs: OutputFile[];
  manifest: EmittedManifest;
  seconds: number;
  /** The sandbox's kind, or 'none' when no step ran (a no-op). */
  sandbox: string;
  /** Where the tree was built (scratch-fs.ts). */
  scratch: 'disk' | 'tmpfs';
}

export async function orchestrate(o: BuildRequest, ports: EnginePorts): Promise<BuildOutcome> {
  const doing = new Doing();
  const places: Places = { 'build directory': o.buildRoot, 'output directory': o.outputs.outputDir, ...(o.cacheDir ? { cache: o.cacheDir } : {}) };
  let dir: BuildDir | undefined;
  try {
    return await orchestrateIn(o, ports, { doing, places, made: (d) => (dir = d) });
  } catch (e) {
    // Before the build dir goes: a full one still shows as full.
    throw await explainFailure(e, doing.current, places, ports.signal);
  } finally {
    if (dir) await removeBuildDir(dir);
  }
}

/** How orchestrateIn reports what it does and where, for explainFailure and the clean-up. */
interface Tracking {
  doing: Doing;
  places: Places;
  /** Called once the build's directory exists: it is removed whatever happens. */
  made: (dir: BuildDir) => void;
}

async function orchestrateIn(o: BuildRequest, ports: EnginePorts, track: Tracking): Promise<BuildOutcome> {
  const started = performance.now();
  const { emit, store } = ports;
  const { doing } = track;
  for (const message of await recoverBuilds(o.buildRoot, o.outputs.outputDir)) emit({ type: 'note', message: `cleaned up after an earlier build: ${message}` });
  throwIfInterrupted(ports.signal);
  const scratch = await chooseScratch(o.scratch ?? 'disk');
  if (scratch.dir !== null) emit({ type: 'note', message: `building the tree ${scratch.reason}` });
  if (scratch.dir !== null) track.places['in-memory scratch'] = scratch.dir;
  const workRole: SpaceRole = scratch.dir === null ? 'build directory' : 'in-memory scratch';
  const dir = await createBuildDir(o.buildRoot, o.imageName, scratch.dir);
  track.made(dir);
  const where = scratch.dir === null ? 'disk' : 'tmpfs';
  const finish = (steps: StepReport[], outputs: OutputFile[], manifest: EmittedManifest, sandbox: string): BuildOutcome => ({
    steps,
    outputs,
    manifest,
    seconds: (performance.now() - started) / 1000,
    sandbox,
    scratch: where,
  });
  await makeHooksTree(o.graph.elements, dir.hooks);
  const dibLib = await findDibLib();
  const { elements } = o.graph;
  const vars = await conditionVars({ ...o, elements, dibLib, hooksDir: dir.hooks, emptyTree: dir.tree, mergedDir: dir.step.merged, logDir: dir.logs, sandbox: ports.sandbox });
  throwIfInterrupted(ports.signal);
  const plan: Plan = unwrap(
    // block-device.d hooks run when the disk image is assembled (src/engine/disk-output.ts), not as tree steps.
    planBuild(o.graph, o.distro, { vars, skipPhases: ['block-device.d'] }),
  );
  for (const message of plan.notes) emit({ type: 'note', message });
  await linkInstallTypes(dir.hooks, installTypeLinks(plan.steps));
  doing.now({ what: 'reading the archive state', writesTo: [] });
  const archive = plan.steps.some((step) => kindOf(step).network(step)) ? await ports.archiveState() : null;
  // SOURCE_DATE_EPOCH: the one given, else when the archive published what this build installs.
  const epoch = buildEpoch(o.sourceDateEpoch, archive);
  const ictx: InputContext = {
    distro: o.distro,
    elements,
    imageName: o.imageName,
    hooksDir: dir.hooks,
    declared: o.declared,
    sourceDateEpoch: epoch.seconds,
    dibLib,
    secrets: secretRefs(o.secrets ?? []),
    volatileScope: o.graph.volatileScope,
  };
  const icache = await prepareInputs(ictx);
  const inputs: StepInputs[] = [];
  for (const step of plan.steps) inputs.push(withArchive(step, await kindOf(step).inputs(step, ictx, icache), archive));
  const outputs = await outputRequest(o, dir, { epoch: epoch.seconds, dibLib, vars });
  const usable = (step: Step): boolean => store !== null && !(o.refresh && kindOf(step).network(step)) && !kindOf(step).readsHost(step);
  const chain = store ? await walkChain(plan.steps, inputs, store, usable) : [];

  throwIfInterrupted(ports.signal);

  // A break point needs the tree at that point: no no-op, and no checkpoint past the first point.
  const breaks = o.breakAt ? placeBreaks(o.breakAt.points, plan.steps.map((st) => st.phase), PHASE_ORDER) : null;
  const fast = !o.refresh && !breaks ? await noopBuild(plan, chain, o, { ...ports, doing }, outputs) : null;
  if (fast) {
    await ports.afterSteps?.(fast.steps);
    doing.now({ what: 'writing the manifest', writesTo: ['output directory'] });
    const manifest = await emitManifest(manifestRequest(o, outputs.request, fast.steps, fast.outputs, fast.packages, archive, epoch));
    return finish(fast.steps, fast.outputs, manifest, 'none');
  }

  const sandbox = await ports.sandbox();
  const reports: StepReport[] = [];
  const known: KnownDigests = new Map();
  const shell = o.breakAt ? { sandbox, dir, terminal: o.breakAt.terminal, emit } : null;
  const shellsAt = async (i: number): Promise<void> => {
    const env = (place: Place): Record<string, string> => hookEnv({ place, distro: o.distro, hooksDir: dir.hooks, declared: o.declared, sourceDateEpoch: epoch.seconds, dibLib, image: { name: o.imageName, elements } });
    for (const b of breaks?.at.get(i) ?? []) await openShell(b.name, b.place, env(b.place), shell!);
  };
  const checkpoints = o.cacheDir && store ? new Checkpointer(o.cacheDir, o.imageName, dir.tree, plan.steps.length, known, breaks?.at.has(plan.steps.length) ?? false) : null;
  const shared = o.cacheDir && store ? new SharedFiles(o.cacheDir, known) : undefined;
  const hostWritable = outsideWritable(o.declared, o.hostWritable);
  // As disk-image-create does for DIB_IMAGE_CACHE: a directory hooks may fill must exist to be bound writable.
  for (const d of hostWritable) await mkdir(d, { recursive: true });
  // A break point needs the tree at that point: no checkpoint past the first one is restored.
  const restoreBefore = breaks?.first ?? plan.steps.length;
  let parent: { key: LayerKey; layer: FileDigest } | null = null;
  // The walked links, from step `linksFrom` on: at first the build's walk; after a step that reads the host, the walk on from it.
  let links = chain;
  let linksFrom = 0;
  let i = 0;
  while (i < plan.steps.length) {
    // The deepest checkpoint along the walked links replaces the tree when it is ahead of it.
    if (store && o.cacheDir) {
      doing.now({ what: 'restoring the tree checkpoint', writesTo: [workRole] });
      const ahead = links.slice(i - linksFrom, Math.max(0, restoreBefore - linksFrom));
      const covered = await restoreDeepest(ahead, o.cacheDir, dir.tree, known, (message) => emit({ type: 'warning', message }));
      for (const [k, link] of ahead.slice(0, covered).entries()) {
        const report = cachedReport(plan.steps[i + k]!, i + k, link.key, link.entry);
        emit({ type: 'step-start', index: i + k, total: plan.steps.length, step: plan.steps[i + k]!, cached: true });
        emit({ type: 'step-end', report });
        reports.push(report);
      }
      if (covered > 0) {
        i += covered;
        parent = linkParent(ahead[covered - 1]!);
        emit({ type: 'note', message: `started from the tree checkpoint after ${plan.steps[i - 1]!.id}: ${covered} cached layers not applied again` });
      }
    }
    for (; i < plan.steps.length; i++) {
      const step = plan.steps[i]!;
      const link = links[i - linksFrom];
      const readsHost = kindOf(step).readsHost(step);
      const before = parent;
      // A step that reads the host is keyed by its layer once it has run (it runs every time), so nothing looks it up by a volatile record.
      const key: StepJob['key'] = readsHost ? (made) => ({ key: keyFor(stepKeys({ ...inputs[i]!, hostResult: made.layer }, before), made.heldVolatile).key, record: null }) : (link?.keys ?? stepKeys(inputs[i]!, parent));
      await shellsAt(i);
      const t0 = performance.now();
      const done: StepDone = await runOrApply(
        { step, index: i, total: plan.steps.length, key, inputs: inputs[i]!, entry: link ?? null, useCached: usable(step) },
        { dir, ports, imageName: o.imageName, sourceDateEpoch: epoch.seconds, secrets: o.secrets ?? [], hostWritable, doing, workRole, archive, ...(shared ? { shared } : {}) },
      ).catch(async (e: unknown) => {
        if (breaks?.onError && e instanceof FailureError && e.failure.reason !== 'interrupted' && !ports.signal?.aborted) await openShell('after-error', step.place, inputs[i]!.runEnv, shell!);
        throw e;
      });
      reports.push({ ...done.report, seconds: (performance.now() - t0) / 1000 });
      emit({ type: 'step-end', report: reports[reports.length - 1]! });
      parent = { key: done.key, layer: done.digest };
      doing.now({ what: `keeping a tree checkpoint after ${step.id}`, writesTo: ['cache'] });
      await checkpoints?.after(i, step, done.key, done.digest, done.report.layerSize ?? 0);
      if (readsHost && store) {
        // Its key is known now: the walk goes on from the step after it.
        i += 1;
        linksFrom = i;
        links = await walkChain(plan.steps, inputs, store, usable, i, parent);
        break;
      }
    }
  }
  let packages: ManifestPackage[];
  let files: OutputFile[];
  try {
    await shellsAt(plan.steps.length);
    throwIfInterrupted(ports.signal);
    checkpoints?.startPruning();
    doing.now({ what: 'listing the installed packages', writesTo: ['cache'] });
    packages = await treePackages(dir.tree, store, parent!.key, parent!.layer, o.imageName);
    const outputContext = { ...outputs, lastKey: parent!.key, lastLayer: parent!.layer, store, name: outputStem(o.imageName, o.tag), emit, doing };
    // The last key may be one the cache has outputs for although a step ran (one that reads the host wrote what it wrote before).
    files =
      (await cachedOutputs(outputContext)) ??
      (await writeOutputs({
        ...outputContext,
        tree: dir.tree,
        hooksDir: dir.hooks,
        // Disk images are assembled on disk even when the tree is in memory:
        // a filesystem image and a raw disk each as large as the tree.
        workDir: path.join(dir.root, 'assemble'),
        logDir: dir.logs,
        sandbox,
        clusterSource: qcow2ReuseSource(o.cacheDir, outputContext.name, outputs.request.disk),
      }));
  } catch (e) {
    // The tree is still the last step's: kept all the same (copied: a full disk's report measures it), unless the build is being stopped (it ends at once).
    if (!interruption.aborted && !ports.signal?.aborted) await checkpoints?.settle('link').catch(() => undefined);
    throw e;
  }
  doing.now({ what: "keeping the last step's tree as its checkpoint", writesTo: ['cache'] });
  await checkpoints?.settle();
  await ports.afterSteps?.(reports);
  throwIfInterrupted(ports.signal);
  doing.now({ what: 'writing the manifest', writesTo: ['output directory'] });
  const manifest = await emitManifest(manifestRequest(o, outputs.request, reports, files, packages, archive, epoch));
  return finish(reports, files, manifest, sandbox.kind);
}

/** A network step's inputs with the archive state it installs from (keys.ts `archive`); other steps' as they are. */
function withArchive(step: Step, inputs: StepInputs, archive: ArchiveState | null): StepInputs {
  return archive && kindOf(step).network(step) ? { ...inputs, archive: archiveKey(archive) } : inputs;
}

const linkParent = (link: ChainLink): { key: LayerKey; layer: FileDigest } => ({ key: link.key, layer: link.entry.metadata.digest });

/** Every step and every output cached: copy the outputs out, touch nothing else. */
async function noopBuild(
  plan: Plan,
  chain: ChainLink[],
  o: BuildRequest,
  ports: EnginePorts & { doing: Doing },
  outputs: { request: OutputRequest; diskKey: unknown },
): Promise<{ steps: StepReport[]; outputs: OutputFile[]; packages: ManifestPackage[] } | null> {
  const store = ports.store;
  if (!store || chain.length < plan.steps.length) return null;
  const reports = chain.map((link, i) => cachedReport(plan.steps[i]!, i, link.key, link.entry));
  const { key: lastKey, entry: last } = chain[chain.length - 1]!;
  const packages = await cachedPackages(store, lastKey, last.metadata.digest);
  if (!packages) return null;
  const files = await cachedOutputs({ ...outputs, lastKey, lastLayer: last.metadata.digest, store, name: outputStem(o.imageName, o.tag), emit: ports.emit, doing: ports.doing });
  if (!files) return null;
  for (const [i, report] of reports.entries()) {
    ports.emit({ type: 'step-start', index: i, total: reports.length, step: plan.steps[i]!, cached: true });
    ports.emit({ type: 'step-end', report });
  }
  return { steps: reports, outputs: files, packages };
}
