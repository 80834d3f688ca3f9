// The base step: the distro's bootstrap (mmdebstrap), run by the sandbox as a
// step with no tree, into the step's upper directory; the whole tree it makes is the first layer. Its key
// is the bootstrap's command line (the distro description after overrides);
// it reads the archive, so --refresh makes it again.
import { canonicalJson } from '../cache/canonical-json.js';
import { sha256Buffer } from '../cache/digest.js';
import { mmdebstrapArgs } from '../distro/bootstrap.js';
import type { Distro } from '../distro/distro.js';
import { commonInputs } from './inputs.js';
import type { StepKind } from './kind.js';
import type { StepCommon } from './step.js';

export interface BaseStep extends StepCommon {
  kind: 'base';
  phase: 'base';
  distro: Distro;
}

export const base: StepKind<BaseStep> = {
  kind: 'base',
  network: () => true,
  readsHost: () => false,
  layer: 'tree',
  // An element providing operating-system (DIB's debian-minimal) makes the tree in its root.d instead.
  plan: ({ distro, osElement }) => (osElement ? [] : [{ kind: 'base', id: `distro/${distro.name}`, phase: 'base', place: 'outside', distro }]),
  owner: (step) => step.id,
  async inputs(step, ctx) {
    // The bootstrap depends on the distro description (after overrides), not on hooks.
    const args = mmdebstrapArgs(step.distro, '<target>');
    return { ...commonInputs(step, ctx), scriptDigest: sha256Buffer(canonicalJson(args)), elementDigest: null, env: {}, environmentD: null, packages: null, runEnv: {} };
  },
  async exec(step, _runEnv, ctx) {
    await ctx.bootstrap({
      distro: step.distro,
      target: ctx.upper,
      logFile: ctx.logFile,
      sourceDateEpoch: ctx.sourceDateEpoch,
      onLine: (line) => ctx.onLine('stdout', line),
      signal: ctx.signal,
      sandbox: ctx.sandbox,
    });
  },
};
