// Everything a step's key is made of, except the chain (parent key and
// parent layer digest, added by the builder as it walks the steps). One
// function per step kind says which of the build's inputs that step depends
// on; src/cache/keys.ts says why each field is in a key.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../cache/canonical-json.js';
import { digestTree, sha256Buffer, sha256File, type FileDigest } from '../cache/digest.js';
import type { StepKeyFields } from '../cache/keys.js';
import { mmdebstrapArgs } from '../distro/bootstrap.js';
import type { Distro } from '../distro/distro.js';
import type { Element } from '../elements/element.js';
import { hookEnv, keyEnv, type HookEnvOptions } from '../plan/hook-env.js';
import type { Step } from '../plan/step.js';
import { HELPER_DIR } from './helper-scripts.js';

/** An element's documentation, left out of its digest. */
const README = /^README(\.(md|rst|txt))?$/;

export type StepInputs = Omit<StepKeyFields, 'parent' | 'parentLayer'> & {
  /** The environment the step runs with (keyed as `env`, host paths blanked). */
  runEnv: Record<string, string>;
};

export interface InputContext {
  distro: Distro;
  elements: Element[];
  imageName: string;
  hooksDir: string;
  declared: Record<string, string>;
  sourceDateEpoch: number | null;
}

/** Precomputed, once per build: digests of elements and of the shared hook environment. */
export interface InputCache {
  elementDigest: Map<string, FileDigest>;
  /** environment.d snippets and bin/ tools of the merged hooks tree: every hook sees them. */
  sharedEnv: FileDigest;
  /** Elements whose files mention IMAGE_NAME / IMAGE_ELEMENT. */
  readsImageVars: Set<string>;
}

export async function prepareInputs(ctx: InputContext): Promise<InputCache> {
  const elementDigest = new Map<string, FileDigest>();
  const readsImageVars = new Set<string>();
  for (const e of ctx.elements) {
    // The element's files minus its hook scripts (each hook's own bytes are its
    // scriptDigest, so editing one hook re-runs that hook, not its siblings)
    // and minus its README (documentation: editing it must not re-run a
    // ten-minute package install).
    const hookFiles = new Set(Object.values(e.hooks).flatMap((hooks) => hooks.map((h) => path.relative(e.dir, h.path))));
    elementDigest.set(e.name, await digestTree(e.dir, (rel) => hookFiles.has(rel) || README.test(rel)));
    if (await mentions(e.dir, /IMAGE_NAME|IMAGE_ELEMENT/)) readsImageVars.add(e.name);
  }
  const sharedEnv = sha256Buffer(
    canonicalJson({
      environmentD: await digestTree(path.join(ctx.hooksDir, 'environment.d')),
      bin: await digestTree(path.join(ctx.hooksDir, 'bin')),
    }),
  );
  return { elementDigest, sharedEnv, readsImageVars };
}

/** Whether any file under `dir` (symlinks not followed, as `grep -r`) contains `pattern`. */
async function mentions(dir: string, pattern: RegExp): Promise<boolean> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && pattern.test(await readFile(path.join(entry.parentPath, entry.name), 'latin1'))) return true;
  }
  return false;
}

export async function stepInputs(step: Step, ctx: InputContext, cache: InputCache): Promise<StepInputs> {
  const common = {
    phase: step.phase,
    script: step.id,
    distro: ctx.distro.family,
    release: ctx.distro.release,
    arch: ctx.distro.arch,
    sourceDateEpoch: ctx.sourceDateEpoch,
  };
  const envOptions: HookEnvOptions = {
    place: step.place,
    distro: ctx.distro,
    hooksDir: ctx.hooksDir,
    declared: ctx.declared,
    sourceDateEpoch: ctx.sourceDateEpoch,
  };
  const helper = (name: string): Promise<FileDigest> => sha256File(path.join(ctx.hooksDir, HELPER_DIR, name));
  switch (step.kind) {
    case 'base': {
      // The bootstrap depends on the distro description (after overrides), not on hooks.
      const args = mmdebstrapArgs(step.distro, '<target>');
      return { ...common, scriptDigest: sha256Buffer(canonicalJson(args)), elementDigest: null, env: {}, environmentD: null, packages: null, runEnv: {} };
    }
    case 'packages': {
      const runEnv = hookEnv(envOptions);
      return {
        ...common,
        scriptDigest: await helper('package-installs'),
        elementDigest: null,
        env: keyEnv(runEnv, ctx.hooksDir),
        environmentD: null,
        packages: { action: step.action, packages: step.packages.map((p) => `${p.name}=${p.element}`) },
        runEnv,
      };
    }
    case 'finalise': {
      const runEnv = hookEnv(envOptions);
      return { ...common, scriptDigest: await helper('finalise-tree'), elementDigest: null, env: keyEnv(runEnv, ctx.hooksDir), environmentD: null, packages: null, runEnv };
    }
    case 'hook': {
      const image = cache.readsImageVars.has(step.element) ? { name: ctx.imageName, elements: ctx.elements.map((e) => e.name) } : undefined;
      const runEnv = hookEnv({ ...envOptions, ...(image ? { image } : {}) });
      return {
        ...common,
        scriptDigest: sha256Buffer(
          canonicalJson({ hook: await sha256File(step.hook.path), runner: await helper('run-hook') }),
        ),
        elementDigest: cache.elementDigest.get(step.element)!,
        env: keyEnv(runEnv, ctx.hooksDir),
        environmentD: cache.sharedEnv,
        packages: null,
        runEnv,
      };
    }
  }
}

