// imgfactory's own last step (`builtin/finalise-tree`): what no golden image
// may keep — /tmp's contents, apt lists and caches, policy-rc.d, the
// build-time resolver (helper-scripts.ts FINALISE_TREE), and what outside
// hooks wrote into the hooks tree (engine/hooks-writes.ts). Runs inside the tree
// after every element's hooks.
import { dropHeldHooks } from './hooks-writes.js';
import { FailureError } from '../failure.js';
import { hookEnv, keyEnv } from './hook-env.js';
import { commonInputs, envOptions, helperDigest } from './inputs.js';
import type { StepKind } from './kind.js';
import { helperPath, runSandboxed, stepFailed } from './sandboxed.js';
import type { StepCommon } from './step.js';

export interface FinaliseStep extends StepCommon {
  kind: 'finalise';
  phase: 'finalise-tree';
}

const SCRIPT = 'finalise-tree';

export const finalise: StepKind<FinaliseStep> = {
  kind: 'finalise',
  network: () => false,
  readsHost: () => false,
  layer: 'upper',
  plan: () => [{ kind: 'finalise', id: `builtin/${SCRIPT}`, phase: 'finalise-tree', place: 'inside' }],
  owner: () => 'imgfactory',
  async inputs(step, ctx) {
    const runEnv = hookEnv(envOptions(step, ctx));
    return { ...commonInputs(step, ctx), scriptDigest: await helperDigest(ctx, SCRIPT), elementDigest: null, env: keyEnv(runEnv, ctx.hooksDir), environmentD: null, packages: null, runEnv };
  },
  async exec(step, runEnv, ctx) {
    const outcome = await runSandboxed(step, ['/bin/bash', helperPath(step, ctx, SCRIPT)], runEnv, ctx);
    if (outcome.exitCode !== 0) throw new FailureError(await stepFailed(step, 'imgfactory', outcome, ctx.logFile));
    await dropHeldHooks(ctx.tree, ctx.upper);
  },
};
