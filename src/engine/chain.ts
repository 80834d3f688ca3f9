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
// outputs starts at the end), the tree is kept; the newest KEEP_PER_IMAGE of
// an image stay. A checkpoint that no longer holds what it recorded is
// reported and passed over for the next one down the chain. The file
// digests of the checkpoint restored and of each one kept are carried along
// (`known`), so a checkpoint made later in the build hashes only new files.
import { rename, rm } from 'node:fs/promises';
import type { FileDigest, LayerKey } from '../cache/digest.js';
import { layerKey } from '../cache/keys.js';
import { hasCheckpoint, pruneCheckpoints, restoreCheckpoint, saveCheckpoint } from '../cache/checkpoints.js';
import type { KnownDigests } from '../cache/tree-record.js';
import type { WantedKind } from '../cache/entry-descriptor.js';
import type { LayerEntry, LayerStore } from '../cache/store.js';
import type { Step, StepInputs } from '../steps/index.js';
import { layerKindOf } from './layer-io.js';

const CHECKPOINT_EVERY = 32 * 2 ** 20;
const KEEP_PER_IMAGE = 4;

/** One step the cache holds: the key it was found under, its entry, and both its keys (a damaged entry's rebuild chooses again). */
export interface ChainLink {
  key: LayerKey;
  entry: LayerEntry;
  keys: StepKeys;
}

/**
 * The keys a step's layer may be stored under, after `parent` (null for the
 * first step). `free`: its change held none of the search path's volatile
 * paths (keys.ts volatileFree), so images with other elements share it; it is
 * looked up first. `image`: keyed by the image's own volatile paths. `free` is
 * null when the search path declares none (then `image` is the only key).
 */
export interface StepKeys {
  free: LayerKey | null;
  image: LayerKey;
}

export function stepKeys(inputs: StepInputs, parent: { key: LayerKey; layer: FileDigest } | null): StepKeys {
  const chain = { parent: parent?.key ?? null, parentLayer: parent?.layer ?? null };
  const scope = inputs.volatileScope ?? [];
  return {
    free: scope.length > 0 ? layerKey({ ...inputs, ...chain, volatile: null, volatileFree: scope }) : null,
    image: layerKey({ ...inputs, ...chain, volatileFree: null }),
  };
}

/** The key a layer just made is stored under: `free` only when its change held none of the search path's volatile paths. */
export function keyFor(keys: StepKeys, heldVolatile: boolean): LayerKey {
  return !heldVolatile && keys.free !== null ? keys.free : keys.image;
}

/** The first of the step's keys the store holds an entry of `kind` for, and that entry. */
export async function lookupStep(store: LayerStore, keys: StepKeys, kind: WantedKind): Promise<ChainLink | null> {
  for (const key of [keys.free, keys.image]) {
    if (key === null) continue;
    const entry = await store.lookup(key, kind);
    if (entry) return { key, entry, keys };
  }
  return null;
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

/** Decides, step by step, when the tree is worth keeping. */
export class Checkpointer {
  private sinceLast = 0;

  constructor(
    private readonly cacheDir: string,
    private readonly image: string,
    private readonly tree: string,
    private readonly total: number,
    /** Digests of the tree's files already known (the restored checkpoint's, then each kept one's). */
    private readonly known: KnownDigests,
  ) {}

  /** Call after step `index` was built or applied with the layer `layer` of `layerBytes`. Returns whether a checkpoint was kept. */
  async after(index: number, step: Step, key: LayerKey, layer: FileDigest, layerBytes: number): Promise<boolean> {
    this.sinceLast += layerBytes;
    const last = index === this.total - 1;
    if (this.sinceLast === 0 || (this.sinceLast < CHECKPOINT_EVERY && !last)) return false;
    const kept = await saveCheckpoint(this.cacheDir, this.tree, { key, layer, image: this.image, step: step.id }, this.known);
    if (kept) this.sinceLast = 0;
    return kept;
  }

  async prune(): Promise<void> {
    await pruneCheckpoints(this.cacheDir, this.image, KEEP_PER_IMAGE);
  }
}
