// The build's key chain, walked from the first step (and again after each
// step that reads the host, whose key needs its layer): each step's key
// (its inputs, the parent's key and the parent's layer bytes) and the cache
// entry that holds it, for as long as the cache holds them. That walk decides
// everything the cache can spare a build: a no-op (every step and output
// cached), the resume point (the deepest link with a tree checkpoint), and
// which steps are applied instead of run. Beyond the walk's end a key needs
// the layer just built, so the orchestrator derives it as it goes.
//
// Checkpoints (src/cache/checkpoints.ts): after a step, when at least
// CHECKPOINT_EVERY bytes of layers (zstd) were applied to the tree since the
// last one, and after the last step (so a build differing only in its
// outputs starts at the end; that one is the build's tree itself, moved
// into the cache after the outputs), the tree is kept; the newest
// KEEP_PER_IMAGE of an image stay. A checkpoint that no longer holds what it
// recorded is reported and passed over for the next one down the chain. The
// file digests of the checkpoint restored and of each one kept are carried
// along (`known`), so a checkpoint made later in the build hashes only new
// files.
import { rename, rm } from 'node:fs/promises';
import type { FileDigest, LayerKey } from '../cache/digest.js';
import { layerKey } from '../cache/keys.js';
import { hasCheckpoint, pruneCheckpoints, restoreCheckpoint, saveCheckpoint, type CheckpointMeta } from '../cache/checkpoints.js';
import { mountsUnder, readMountInfo } from '../sandbox/mountinfo.js';
import type { KnownDigests } from '../cache/tree-record.js';
import { VOLATILE_RECORD_KIND, type WantedKind } from '../cache/entry-descriptor.js';
import type { LayerEntry, LayerStore } from '../cache/store.js';
import type { Step, StepInputs } from '../steps/index.js';
import { layerKindOf } from './layer-io.js';

const CHECKPOINT_EVERY = 32 * 2 ** 20;
const KEEP_PER_IMAGE = 4;

/** One step the cache holds: the key it was found under, its entry, and all its keys (a damaged entry's rebuild chooses again). */
export interface ChainLink {
  key: LayerKey;
  entry: LayerEntry;
  keys: StepKeys;
}

/**
 * The keys a step's layer may be stored under, after `parent` (null for the
 * first step). `free`: its change held none of the search path's volatile
 * paths (keys.ts volatileFree), so images with other elements share it; it is
 * looked up first. When the change did hold some, its layer is keyed by those
 * paths and the image's among them (`held`, keys.ts volatileHeld), and the
 * paths are written to a record under `record`, so that the next build, of
 * whichever image, can make that key before it runs the step. `record` is
 * null when the search path declares no volatile path (no change holds one).
 */
export interface StepKeys {
  free: LayerKey;
  record: LayerKey | null;
  /** The key of the layer whose change held `matched` (sorted, of the search path's or the image's); null when they are not a non-empty list of those (a damaged record). */
  held(matched: readonly string[]): LayerKey | null;
}

export function stepKeys(inputs: StepInputs, parent: { key: LayerKey; layer: FileDigest } | null): StepKeys {
  const chain = { parent: parent?.key ?? null, parentLayer: parent?.layer ?? null };
  const scope = inputs.volatileScope ?? [];
  const image = inputs.volatile ?? [];
  // The image's paths are the search path's, but a key must not hang on that.
  const known = new Set([...scope, ...image]);
  return {
    free: layerKey({ ...inputs, ...chain, volatile: null, volatileFree: scope }),
    record: known.size > 0 ? layerKey({ ...inputs, ...chain, volatile: null, volatileFree: scope, volatileRecord: true }) : null,
    held(matched) {
      const sorted = [...new Set(matched)].sort();
      if (sorted.length === 0 || sorted.length !== matched.length || sorted.some((p, i) => p !== matched[i] || !known.has(p))) return null;
      return layerKey({ ...inputs, ...chain, volatileFree: null, volatileHeld: sorted, volatileTested: scope, volatile: image.filter((p) => sorted.includes(p)) });
    },
  };
}

/** The key a layer just made is stored under, and the record to write beside it (chain.ts StepKeys). */
export function keyFor(keys: StepKeys, heldVolatile: readonly string[]): { key: LayerKey; record: { key: LayerKey; matched: string[] } | null } {
  if (heldVolatile.length === 0) return { key: keys.free, record: null };
  const key = keys.held(heldVolatile);
  if (key === null || keys.record === null) throw new Error(`a change held volatile paths neither the search path nor the image declares: ${heldVolatile.join(', ')}`);
  return { key, record: { key: keys.record, matched: [...heldVolatile] } };
}

/** The paths a volatile record names, or null when it is not a list of strings. */
function recordedPaths(entry: LayerEntry): string[] | null {
  const matched = entry.metadata.matched;
  return Array.isArray(matched) && matched.every((p) => typeof p === 'string') ? (matched as string[]) : null;
}

/**
 * The first of the step's keys the store holds an entry of `kind` for, and
 * that entry: `free`, else the key its volatile record names.
 */
export async function lookupStep(store: LayerStore, keys: StepKeys, kind: WantedKind): Promise<ChainLink | null> {
  const free = await store.lookup(keys.free, kind);
  if (free) return { key: keys.free, entry: free, keys };
  if (keys.record === null) return null;
  const record = await store.lookup(keys.record, VOLATILE_RECORD_KIND);
  const matched = record ? recordedPaths(record) : null;
  const key = matched ? keys.held(matched) : null;
  if (key === null) return null;
  const entry = await store.lookup(key, kind);
  return entry ? { key, entry, keys } : null;
}

/** Writes the record of which volatile paths a step's change held (after its layer is stored: a record never names a key before it has an entry). */
export async function storeVolatileRecord(store: LayerStore, record: { key: LayerKey; matched: string[] }, metadata: { image: string; step: string }): Promise<void> {
  await store.putLayer(record.key, VOLATILE_RECORD_KIND, Buffer.from(JSON.stringify(record.matched)), { ...metadata, mediaType: 'application/json', matched: record.matched });
}

/**
 * The links of the longest run of steps, from step `from` (after `parent`,
 * the link before it; null from the first step), that the cache holds.
 * `usable(step)`: whether the step may come from the cache at all (not the
 * network steps under --refresh, not a step that reads the host: its key
 * needs its layer, so the walk ends there until it has run).
 */
export async function walkChain(
  steps: Step[],
  inputs: StepInputs[],
  store: LayerStore,
  usable: (step: Step) => boolean,
  from = 0,
  parent: { key: LayerKey; layer: FileDigest } | null = null,
): Promise<ChainLink[]> {
  const chain: ChainLink[] = [];
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]!;
    if (!usable(step)) break;
    const last = chain.at(-1);
    const link = await lookupStep(store, stepKeys(inputs[i]!, last ? { key: last.key, layer: last.entry.metadata.digest } : parent), layerKindOf(step));
    if (!link) break;
    chain.push(link);
  }
  return chain;
}

/**
 * Replaces `tree` with the deepest checkpoint along `chain` that still holds
 * what it recorded; returns how many of the chain's links it covers (0: none
 * applied, `tree` untouched). `damaged` is told of each checkpoint passed
 * over because it changed.
 */
export async function restoreDeepest(chain: ChainLink[], cacheDir: string, tree: string, known: KnownDigests, damaged: (message: string) => void): Promise<number> {
  const staging = `${tree}.restoring`;
  for (let j = chain.length - 1; j >= 0; j--) {
    const link = chain[j]!;
    if (!(await hasCheckpoint(cacheDir, link.key))) continue;
    await rm(staging, { recursive: true, force: true });
    const r = await restoreCheckpoint(cacheDir, link.key, link.entry.metadata.digest, staging, known);
    if (r.restored) {
      await rm(tree, { recursive: true, force: true });
      await rename(staging, tree);
      return j + 1;
    }
    if (r.damaged) damaged(`the tree checkpoint after ${String(link.entry.metadata.step ?? link.key)} ${r.damaged}; removed it, applying the cached layers instead`);
  }
  return 0;
}

/**
 * Decides, step by step, when the tree is worth keeping. The last step's
 * checkpoint is kept by `settle`, once the outputs are written: the tree is
 * then moved into the cache instead of copied (the build is done with it;
 * outputs only read it). With `linkLast` (a shell opens after the last step,
 * and may write the tree) it is copied at once, as the others are.
 */
export class Checkpointer {
  private sinceLast = 0;
  private last: CheckpointMeta | null = null;
  private pruning: Promise<void> | null = null;

  constructor(
    private readonly cacheDir: string,
    private readonly image: string,
    private readonly tree: string,
    private readonly total: number,
    /** Digests of the tree's files already known (the restored checkpoint's, then each kept one's). */
    private readonly known: KnownDigests,
    private readonly linkLast = false,
  ) {}

  /** Call after step `index` was built or applied with the layer `layer` of `layerBytes`. */
  async after(index: number, step: Step, key: LayerKey, layer: FileDigest, layerBytes: number): Promise<void> {
    this.sinceLast += layerBytes;
    const last = index === this.total - 1;
    if (this.sinceLast === 0 || (this.sinceLast < CHECKPOINT_EVERY && !last)) return;
    const meta = { key, layer, image: this.image, step: step.id };
    if (last && !this.linkLast) this.last = meta;
    else if (await saveCheckpoint(this.cacheDir, this.tree, meta, this.known)) this.sinceLast = 0;
  }

  /**
   * Removes all but the image's newest checkpoints, leaving room for the
   * last step's: started before the outputs are written, so that the
   * deleting is done meanwhile (`settle` waits for it).
   */
  startPruning(): void {
    this.pruning ??= pruneCheckpoints(this.cacheDir, this.image, this.last ? KEEP_PER_IMAGE - 1 : KEEP_PER_IMAGE);
    // Awaited by settle(); a build that fails before it never waits for it.
    this.pruning.catch(() => undefined);
  }

  /**
   * After the outputs: the pruning done, keeps the last step's checkpoint,
   * moving the tree away (unless something is mounted below it). With
   * `how: 'link'` (the outputs failed, and the failure's report may still
   * measure the tree) a hard-link copy instead.
   */
  async settle(how: 'move' | 'link' = 'move'): Promise<void> {
    this.startPruning();
    await this.pruning;
    if (this.last && mountsUnder(await readMountInfo(), this.tree).length === 0) await saveCheckpoint(this.cacheDir, this.tree, this.last, this.known, how);
    this.last = null;
  }
}
