// Where a build starts and when it keeps its tree: the policy around tree
// checkpoints (src/cache/checkpoints.ts).
//
// Start: the deepest step whose key, and the keys of every step before it,
// are in the cache and which has a checkpoint; the tree is restored from it
// and the build goes on with the next step. Steps below it are reported as
// cached; their layers are not applied again.
//
// Keep: after a step, when at least CHECKPOINT_EVERY bytes of layers (zstd)
// were applied to the tree since the last checkpoint, and after the last
// step, so that a build differing only in its outputs starts at the end. The
// newest KEEP_PER_IMAGE checkpoints of an image are kept.
import { mkdir, rm } from 'node:fs/promises';
import type { FileDigest, LayerKey } from '../cache/digest.js';
import { layerKey } from '../cache/keys.js';
import { hasCheckpoint, pruneCheckpoints, restoreCheckpoint, saveCheckpoint } from '../cache/checkpoints.js';
import type { LayerEntry, LayerStore } from '../cache/store.js';
import type { Step } from '../plan/step.js';
import type { StepInputs } from './step-inputs.js';

const CHECKPOINT_EVERY = 32 * 2 ** 20;
const KEEP_PER_IMAGE = 4;

export interface ResumePoint {
  /** Index of the first step still to run or apply. */
  start: number;
  /** Keys and entries of the steps before it. */
  chain: Array<{ key: LayerKey; entry: LayerEntry }>;
}

/**
 * The keys and entries of the longest run of steps, from the first, that the
 * cache holds. `fixed(step)`: whether the step may come from the cache at
 * all (not the network steps with --refresh).
 */
export async function cachedChain(steps: Step[], inputs: StepInputs[], store: LayerStore, fixed: (step: Step) => boolean = () => true): Promise<ResumePoint['chain']> {
  const chain: ResumePoint['chain'] = [];
  let parent: LayerKey | null = null;
  let parentLayer: FileDigest | null = null;
  for (const [i, step] of steps.entries()) {
    if (!fixed(step)) break;
    const key = layerKey({ ...inputs[i]!, parent, parentLayer });
    const entry = await store.lookup(key);
    if (!entry) break;
    chain.push({ key, entry });
    parent = key;
    parentLayer = entry.metadata.digest;
  }
  return chain;
}

/** Restores `tree` (an empty directory) from the deepest usable checkpoint; null when none applies. */
export async function resumeFromCheckpoint(
  steps: Step[],
  inputs: StepInputs[],
  store: LayerStore,
  cacheDir: string,
  tree: string,
  fixed: (step: Step) => boolean,
): Promise<ResumePoint | null> {
  const chain = await cachedChain(steps, inputs, store, fixed);
  for (let j = chain.length - 1; j >= 0; j--) {
    if (!(await hasCheckpoint(cacheDir, chain[j]!.key))) continue;
    await rm(tree, { recursive: true, force: true });
    if (await restoreCheckpoint(cacheDir, chain[j]!.key, tree)) return { start: j + 1, chain: chain.slice(0, j + 1) };
    await mkdir(tree, { recursive: true });
  }
  return null;
}

/** Decides, step by step, when the tree is worth keeping. */
export class Checkpointer {
  private sinceLast = 0;

  constructor(
    private readonly cacheDir: string,
    private readonly image: string,
    private readonly tree: string,
    private readonly total: number,
  ) {}

  /** Call after step `index` was built or applied with a layer of `layerBytes`. Returns whether a checkpoint was kept. */
  async after(index: number, step: Step, key: LayerKey, layerBytes: number): Promise<boolean> {
    this.sinceLast += layerBytes;
    const last = index === this.total - 1;
    if (this.sinceLast === 0 || (this.sinceLast < CHECKPOINT_EVERY && !last)) return false;
    const kept = await saveCheckpoint(this.cacheDir, this.tree, { key, image: this.image, step: step.id });
    if (kept) this.sinceLast = 0;
    return kept;
  }

  async prune(): Promise<void> {
    await pruneCheckpoints(this.cacheDir, this.image, KEEP_PER_IMAGE);
  }
}
