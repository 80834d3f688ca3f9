// Runs a build plan: for each step, derive its key, apply the cached layer if
// the store has it, otherwise run the step in the sandbox, pack its change as
// a layer, store it, and apply it. A build with nothing changed finds every
// key and its outputs in the cache and only copies the outputs out.
import path from 'node:path';
import { layerKey } from '../cache/keys.js';
import type { FileDigest, LayerKey } from '../cache/digest.js';
import { CachingLayerStore, layerStoreFor, type RemoteCacheSettings, type RemoteSummary } from '../cache/remote/caching-store.js';
import type { LayerEntry, LayerStore } from '../cache/store.js';
import type { Distro } from '../distro/distro.js';
import { FailureError, unwrap } from '../failure.js';
import type { ImageGraph } from '../graph/resolve.js';
import { planBuild, type Plan } from '../plan/plan.js';
import type { Step } from '../plan/step.js';
import { chooseSandbox, type SandboxKind } from '../sandbox/sandbox.js';
import { createBuildDir, recoverBuilds, removeBuildDir, resetStepDirs, sandboxStateDir, type BuildDir } from './build-dir.js';
import type { EventSink, StepReport } from './events.js';
import { makeHooksTree } from './hooks-tree.js';
import { applyToTree, fetchLayer, moveToTree, packStep, storeLayer } from './layer-io.js';
import { writeOutputs, cachedOutputs, type OutputFile, type OutputRequest } from './outputs.js';
import { blockDeviceHooks, diskKeySettings } from './disk-output.js';
import { cachedPackages, emitManifest, treePackages, type EmittedManifest, type ManifestRequest } from './emit-manifest.js';
import { outputStem, type ManifestPackage } from '../manifest/manifest.js';
import { execStep } from './step-exec.js';
import { formatBytes } from '../util/format.js';
import { stopwatch } from './stopwatch.js';
import { loadLayout } from '../image/index.js';
import { parseBytes } from '../image/size-spec.js';
import { hookEnv, keyEnv } from '../plan/hook-env.js';
import { prepareInputs, stepInputs, type InputContext, type StepInputs } from './step-inputs.js';
import { cachedChain, Checkpointer, resumeFromCheckpoint } from './resume.js';
import { chooseScratch, type ScratchMode } from './scratch-fs.js';

export interface BuildOptions {
  graph: ImageGraph;
  distro: Distro;
  /** Name of the outputs (`<name>.<ext>`) and IMAGE_NAME. */
  imageName: string;
  buildRoot: string;
  /** Where the tree and overlays live (scratch-fs.ts); default 'disk'. */
  scratch?: ScratchMode;
  /** --cache-from / --cache-to and friends (null: local cache only). */
  remoteCache?: RemoteCacheSettings | null;
  /** null: --no-cache (build everything, store nothing). */
  cacheDir: string | null;
  /** Rebuild the network-dependent steps (base tree, package installs) even when cached. */
  refresh: boolean;
  outputs: Omit<OutputRequest, 'disk'>;
  /** How disk images are made: a layout (built-in name or file; else the image's block-device element, else `efi`). */
  disk: { layout?: string; compress: boolean; imageSize?: string; extraSize?: string };
  sandbox: SandboxKind | 'auto';
  declared: Record<string, string>;
  sourceDateEpoch: number | null;
  /** Recorded in the manifest and in output names (`<image>-<tag>.qcow2`); never in keys. */
  tag?: string;
  /** Sign the manifest with this key (a file, or env:NAME). */
  signKey?: string;
  emit: EventSink;
  signal: AbortSignal;
}

export interface BuildResult {
  steps: StepReport[];
  outputs: OutputFile[];
  manifest: EmittedManifest;
  /** Per remote cache: hits, misses, bytes, and why it was given up on (if it was). */
  remote: RemoteSummary[];
  seconds: number;
  sandbox: string;
  /** Where the tree was built (scratch-fs.ts). */
  scratch: 'disk' | 'tmpfs';
}

const isNetworkStep = (s: Step): boolean => s.kind === 'base' || s.kind === 'packages';

export async function build(o: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  for (const message of await recoverBuilds(o.buildRoot)) o.emit({ type: 'note', message: `cleaned up after an earlier build: ${message}` });
  const plan: Plan = unwrap(
    // block-device.d hooks run when the disk image is assembled (src/engine/disk-output.ts), not as tree steps.
    planBuild(o.graph, o.distro, { vars: o.declared, skipPhases: ['block-device.d'] }),
  );
  const scratch = await chooseScratch(o.scratch ?? 'disk');
  if (scratch.dir !== null) o.emit({ type: 'note', message: `building the tree ${scratch.reason}` });
  const dir = await createBuildDir(o.buildRoot, o.imageName, scratch.dir);
  const where = scratch.dir === null ? 'disk' : 'tmpfs';
  try {
    await makeHooksTree(o.graph.elements, dir.hooks);
    const ictx: InputContext = {
      distro: o.distro,
      elements: o.graph.elements,
      imageName: o.imageName,
      hooksDir: dir.hooks,
      declared: o.declared,
      sourceDateEpoch: o.sourceDateEpoch,
    };
    const icache = await prepareInputs(ictx);
    const inputs: StepInputs[] = [];
    for (const step of plan.steps) inputs.push(await stepInputs(step, ictx, icache));
    const store = o.cacheDir ? await layerStoreFor(o.cacheDir, o.imageName, o.remoteCache ?? null, (message) => o.emit({ type: 'warning', message })) : null;
    const outputs = await outputRequest(o, dir);

    const fast = store && !o.refresh ? await noopBuild(plan, inputs, store, o, outputs) : null;
    if (fast) {
      await pushRemote(store, o, fast.steps);
      const manifest = await emitManifest(manifestRequest(o, store, outputs.request, fast.steps, fast.outputs, fast.packages));
      return { steps: fast.steps, outputs: fast.outputs, manifest, remote: remoteSummary(store), seconds: (performance.now() - started) / 1000, sandbox: 'none', scratch: where };
    }

    const { sandbox, note } = await chooseSandbox(o.sandbox, sandboxStateDir(o.buildRoot));
    if (note) o.emit({ type: 'note', message: note });
    const reports: StepReport[] = [];
    let parent: LayerKey | null = null;
    let parentLayer: FileDigest | null = null;
    const cacheable = (step: Step): boolean => store !== null && !(o.refresh && isNetworkStep(step));
    const resumed = store && o.cacheDir ? await resumeFromCheckpoint(plan.steps, inputs, store, o.cacheDir, dir.tree, cacheable) : null;
    for (const [i, link] of (resumed?.chain ?? []).entries()) {
      const report = cachedStepReport(plan.steps[i]!, i, link);
      o.emit({ type: 'step-start', index: i, total: plan.steps.length, step: plan.steps[i]!, cached: true });
      o.emit({ type: 'step-end', report });
      reports.push(report);
      parent = link.key;
      parentLayer = link.entry.metadata.digest;
    }
    if (resumed) o.emit({ type: 'note', message: `started from the tree checkpoint after ${plan.steps[resumed.start - 1]!.id}: ${resumed.start} cached layers not applied again` });
    const checkpoints = o.cacheDir && store ? new Checkpointer(o.cacheDir, o.imageName, dir.tree, plan.steps.length) : null;
    for (const [i, step] of plan.steps.entries()) {
      if (i < (resumed?.start ?? 0)) continue;
      const key = layerKey({ ...inputs[i]!, parent, parentLayer });
      const t0 = performance.now();
      const done = await runOrApply(step, i, key, inputs[i]!, cacheable(step), store, dir, sandbox, o, plan.steps.length);
      reports.push({ ...done.report, seconds: (performance.now() - t0) / 1000 });
      o.emit({ type: 'step-end', report: reports[reports.length - 1]! });
      parent = key;
      parentLayer = done.digest;
      await checkpoints?.after(i, step, key, done.report.layerSize ?? 0);
    }
    await checkpoints?.prune();
    const packages = await treePackages(dir.tree, store, parent!, parentLayer!, o.imageName);
    const files = await writeOutputs({
      ...outputs,
      request: { ...outputs.request, ...(outputs.request.disk ? { disk: { ...outputs.request.disk, sandbox } } : {}) }, // block-device.d hooks run in it
      tree: dir.tree,
      hooksDir: dir.hooks,
      // Disk images are assembled on disk even when the tree is in memory:
      // a filesystem image and a raw disk each as large as the tree.
      workDir: path.join(dir.root, 'assemble'),
      logDir: dir.logs,
      lastKey: parent!,
      lastLayer: parentLayer!,
      store,
      name: outputStem(o.imageName, o.tag),
      emit: o.emit,
    });
    await pushRemote(store, o, reports);
    const manifest = await emitManifest(manifestRequest(o, store, outputs.request, reports, files, packages));
    return { steps: reports, outputs: files, manifest, remote: remoteSummary(store), seconds: (performance.now() - started) / 1000, sandbox: sandbox.kind, scratch: where };
  } finally {
    await removeBuildDir(dir);
  }
}

const remoteSummary = (store: LayerStore | null): RemoteSummary[] => (store instanceof CachingLayerStore ? store.summary() : []);

/** After a build: --cache-to gets the chain (and outputs; everything with --cache-mode max). */
async function pushRemote(store: LayerStore | null, o: BuildOptions, steps: StepReport[]): Promise<void> {
  if (!(store instanceof CachingLayerStore) || !store.to) return;
  const report = await store.push(o.imageName, steps.map((s) => s.key as LayerKey));
  if (report) o.emit({ type: 'note', message: `pushed ${report.entries} cache entries to ${store.to.ref.text}: ${report.blobsPushed} blobs uploaded, ${report.blobsSkipped} already there` });
}

/** Every step and every output cached: copy the outputs out, touch nothing else. */
async function noopBuild(
  plan: Plan,
  inputs: StepInputs[],
  store: LayerStore,
  o: BuildOptions,
  outputs: { request: OutputRequest; diskKey: unknown },
): Promise<{ steps: StepReport[]; outputs: OutputFile[]; packages: ManifestPackage[] } | null> {
  const chain = await cachedChain(plan.steps, inputs, store);
  if (chain.length < plan.steps.length) return null;
  const reports = chain.map((link, i) => cachedStepReport(plan.steps[i]!, i, link));
  const { key: lastKey, entry: last } = chain[chain.length - 1]!;
  const packages = await cachedPackages(store, lastKey, last.metadata.digest);
  if (!packages) return null;
  const files = await cachedOutputs({ ...outputs, lastKey, lastLayer: last.metadata.digest, store, name: outputStem(o.imageName, o.tag), emit: o.emit });
  if (!files) return null;
  for (const [i, report] of reports.entries()) {
    o.emit({ type: 'step-start', index: i, total: reports.length, step: plan.steps[i]!, cached: true });
    o.emit({ type: 'step-end', report });
  }
  return { steps: reports, outputs: files, packages };
}

/** The report of a step taken from the cache without running it. */
function cachedStepReport(step: Step, index: number, link: { key: LayerKey; entry: LayerEntry }): StepReport {
  return { index, id: step.id, phase: step.phase, status: 'cached', seconds: 0, layerSize: link.entry.size, key: link.key };
}

function manifestRequest(o: BuildOptions, store: LayerStore | null, request: OutputRequest, steps: StepReport[], outputs: OutputFile[], packages: ManifestPackage[]): ManifestRequest {
  return {
    store,
    graph: o.graph,
    distro: o.distro,
    imageName: o.imageName,
    outputDir: o.outputs.outputDir,
    outputs,
    layerKeys: steps.map((s) => s.key),
    packages,
    declared: o.declared,
    sourceDateEpoch: o.sourceDateEpoch,
    layout: request.disk?.layout ?? null,
    ...(o.tag ? { tag: o.tag } : {}),
    ...(o.signKey ? { signKey: o.signKey } : {}),
  };
}

/** The outputs asked for, with the disk settings resolved and their cache-key part. */
async function outputRequest(o: BuildOptions, dir: BuildDir): Promise<{ request: OutputRequest; diskKey: unknown }> {
  const request: OutputRequest = { ...o.outputs };
  if (!o.outputs.types.some((t) => t !== 'tar')) return { request, diskKey: null };
  for (const [flag, value] of [['--image-size', o.disk.imageSize], ['--image-extra-size', o.disk.extraSize]] as const) {
    const parsed = value === undefined ? 0 : parseBytes(value);
    if (typeof parsed === 'string') throw new FailureError({ reason: 'usage', message: `${flag}: ${parsed}`, hint: 'write sizes like 8GiB or 512MiB' });
  }
  const chosen = o.graph.elements.find((e) => e.blockDevice !== null);
  const layout = unwrap(await loadLayout(o.disk.layout ?? chosen?.blockDevice ?? 'efi'));
  const env = hookEnv({ place: 'outside', distro: o.distro, hooksDir: dir.hooks, declared: o.declared, sourceDateEpoch: o.sourceDateEpoch });
  request.disk = {
    layout,
    compress: o.disk.compress,
    ...(o.disk.imageSize ? { imageSize: o.disk.imageSize } : {}),
    ...(o.disk.extraSize ? { extraSize: o.disk.extraSize } : {}),
    sourceDateEpoch: o.sourceDateEpoch,
    blockDeviceHooks: blockDeviceHooks(o.graph.elements),
    hookEnv: env,
  };
  return { request, diskKey: await diskKeySettings(request.disk, keyEnv(env, dir.hooks)) };
}

interface StepDone {
  report: Omit<StepReport, 'seconds'>;
  digest: FileDigest;
}

async function runOrApply(
  step: Step,
  index: number,
  key: LayerKey,
  input: StepInputs,
  useCached: boolean,
  store: LayerStore | null,
  dir: BuildDir,
  sandbox: Awaited<ReturnType<typeof chooseSandbox>>['sandbox'],
  o: BuildOptions,
  total: number,
): Promise<StepDone> {
  const name = String(index).padStart(3, '0');
  const cachedReport = (entry: LayerEntry): StepDone => ({
    report: { index, id: step.id, phase: step.phase, status: 'cached', layerSize: entry.size, key },
    digest: entry.metadata.digest,
  });
  const applyCached = async (entry: LayerEntry): Promise<StepDone | null> => {
    const fetched = await fetchLayer(store!, entry, dir.spool, name);
    if ('damaged' in fetched) {
      o.emit({ type: 'note', message: `cached layer of ${step.id} is damaged (${fetched.damaged}); removed it and building the step again` });
      return null;
    }
    await applyToTree(fetched.file, dir.tree);
    return cachedReport(entry);
  };

  if (useCached) {
    const entry = await store!.lookup(key);
    if (entry) {
      o.emit({ type: 'step-start', index, total, step, cached: true });
      const done = await applyCached(entry);
      if (done) return done;
    }
  }
  const buildIt = async (): Promise<StepDone> => {
    if (useCached) {
      const again = await store!.lookup(key);
      if (again) {
        const done = await applyCached(again);
        if (done) return done;
      }
    }
    o.emit({ type: 'step-start', index, total, step, cached: false });
    await resetStepDirs(dir);
    const logFile = path.join(dir.logs, `${name}-${step.id.replace(/\//g, '_')}.log`);
    await execStep(step, input.runEnv, logFile, { dir, sandbox, sourceDateEpoch: o.sourceDateEpoch, emit: o.emit, signal: o.signal });
    o.emit({ type: 'activity', source: step.id, text: 'packing the layer' });
    const timing = stopwatch();
    const layer = await packStep(dir.step.upper, step.kind === 'base' ? 'tree' : 'upper', dir.spool, name);
    timing.lap(`packed ${layer.pack.entries} entries, ${formatBytes(layer.pack.uncompressedSize)} -> ${formatBytes(layer.size)},`);
    await moveToTree(layer, dir.tree);
    timing.lap('moved onto the tree');
    if (store) {
      await storeLayer(store, key, layer, { image: o.imageName, step: step.id });
      timing.lap('stored');
    }
    timing.sayIfSlow(o.emit, step.id);
    await resetStepDirs(dir);
    return { report: { index, id: step.id, phase: step.phase, status: 'built', layerSize: layer.size, key, log: logFile }, digest: layer.digest };
  };
  if (o.signal.aborted) throw new FailureError({ reason: 'interrupted', signal: String(o.signal.reason ?? 'SIGTERM') });
  return store ? store.withKeyLock(key, buildIt) : buildIt();
}

