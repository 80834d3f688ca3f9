// The key inputs every kind shares, and what is computed once per build for
// all steps (element digests, the shared hook environment). Each kind's file
// adds its own fields; src/cache/keys.ts says why each field is in a key.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../cache/canonical-json.js';
import { digestTree, sha256Buffer, sha256File, type FileDigest } from '../cache/digest.js';
import type { Element } from '../elements/element.js';
import { volatileUnion } from '../elements/volatile-paths.js';
import { HELPER_DIR } from './helper-scripts.js';
import type { HookEnvOptions } from './hook-env.js';
import type { InputCache, InputContext, StepInputs } from './kind.js';
import type { StepCommon } from './step.js';

/**
 * What a hook that reads other elements' files mentions: DIB's element list, or a directory of the merged hooks tree that
 * every element adds to and one hook installs whole (tripleo-image-elements' `os-apply-config/` templates and
 * `os-refresh-config/` scripts, installed by the os-apply-config and os-refresh-config elements).
 */
const READS_OTHER_ELEMENTS = /IMAGE_ELEMENT_YAML|get_image_element_array|TMP_HOOKS_PATH\}?"?\/os-(apply|refresh)-config\b/;

/** An element's documentation, left out of its digest. */
const README = /^README(\.(md|rst|txt))?$/;

/** The directories of an element that the os-apply-config and os-refresh-config elements' hooks install whole (READS_OTHER_ELEMENTS). */
const MERGED_DIR = /^os-(apply|refresh)-config(\/|$)/;

/**
 * A hook that may read its element's MERGED_DIR: one naming it as a path (`$TMP_HOOKS_PATH/os-apply-config`,
 * `$(dirname $0)/../os-refresh-config`), or reading the merged hooks tree wholesale (`$TMP_HOOKS_PATH` or `..` not followed
 * by `/name`). A comment that names the tool ("configured through os-apply-config") is not a path.
 */
const READS_MERGED_DIR = /\/os-(apply|refresh)-config\b|\/\.\.(?!\/[\w.-])|TMP_HOOKS_PATH\}?"?(?!\/[\w.-])/;

export async function prepareInputs(ctx: InputContext): Promise<InputCache> {
  const elementDigest = new Map<string, FileDigest>();
  const ownDigest = new Map<string, FileDigest>();
  const readsImageVars = new Set<string>();
  const readsOtherElements = new Set<string>();
  // Every hook sources every element's environment.d, under `set -u`: one that reads IMAGE_NAME (DIB's manifests) needs
  // it set in every hook. The elements whose files name it, or what such a snippet makes of it, get the image's variables
  // (and are keyed by them); the others get DIB's default name (hook-env.ts UNNAMED_IMAGE), so renaming an image rebuilds
  // only them.
  const derived = await derivedFromImageVars(ctx.elements);
  const readsImage = derived && derived.length > 0 ? new RegExp(`${IMAGE_VARS.source}|\\b(${derived.join('|')})\\b`) : IMAGE_VARS;
  for (const e of ctx.elements) {
    // The element's files minus its hook scripts (each hook's own bytes are its
    // scriptDigest, so editing one hook re-runs that hook, not its siblings)
    // and minus its README (documentation: editing it must not re-run a
    // ten-minute package install).
    // Install types' hooks likewise: the chosen one's bytes are its step's scriptDigest; the others run nowhere.
    const hookFiles = new Set([...Object.values(e.hooks).flat(), ...e.installTypes.flatMap((t) => t.hooks)].map((h) => path.relative(e.dir, h.path)));
    const skip = (rel: string): boolean => hookFiles.has(rel) || README.test(rel);
    const full = await digestTree(e.dir, skip);
    elementDigest.set(e.name, full);
    const [imageVars, otherElements, mergedDir] = await mentions(e.dir, [readsImage, READS_OTHER_ELEMENTS, [READS_MERGED_DIR, (rel) => !MERGED_DIR.test(rel)]]);
    if (imageVars) readsImageVars.add(e.name);
    if (otherElements) readsOtherElements.add(e.name);
    // Its templates and refresh scripts are the inputs of the hooks that install them (keyed by every element's `full`),
    // not of its own hooks unless they may read them: editing keystone.conf's template must not re-run keystone's
    // pre-install.d hook, and with it every step after it (the whole package install).
    const hasMergedDir = (await readdir(e.dir)).some((name) => MERGED_DIR.test(name));
    ownDigest.set(e.name, !hasMergedDir || otherElements || mergedDir ? full : await digestTree(e.dir, (rel) => skip(rel) || MERGED_DIR.test(rel)));
  }
  const sharedEnv = sha256Buffer(
    canonicalJson({
      environmentD: await digestTree(path.join(ctx.hooksDir, 'environment.d')),
      bin: await digestTree(path.join(ctx.hooksDir, 'bin')),
      // Hooks source or copy DIB's shell libraries ($_LIB): their bytes are an input. Hashed only when present, so keys without it stay as they were.
      ...(ctx.dibLib ? { dibLib: await digestTree(ctx.dibLib, (rel) => rel.startsWith('__pycache__')) } : {}),
    }),
  );
  return { elementDigest, ownDigest, sharedEnv, readsImageVars, readsOtherElements, imageVarsInEnvironmentD: derived !== null };
}

/** The variables and functions a hook reads the image's make-up through (hook-env.ts `image`). */
const IMAGE_VARS = /IMAGE_NAME|IMAGE_ELEMENT|get_image_element_array|DIB_ARGS|DIB_ENV/;

/**
 * What environment.d makes from the image's variables (IMAGE_VARS): a variable or function assigned or defined on a
 * line that reads them or what was made from them, to a fixed point; a line that reads them without assigning (an
 * `if` on IMAGE_NAME may choose any export below it) counts everything its snippet sets. DIB's manifests sets
 * DIB_MANIFEST_SAVE_DIR from IMAGE_NAME, and DIB_MANIFEST_IMAGE_DIR not. Null when no snippet reads them.
 */
async function derivedFromImageVars(elements: readonly Element[]): Promise<string[] | null> {
  const files = await Promise.all(elements.flatMap((e) => e.environmentD).map(async (f) => (await readFile(f, 'latin1')).split('\n')));
  if (!files.some((lines) => lines.some((l) => IMAGE_VARS.test(l)))) return null;
  const derived = new Set<string>();
  const readsAny = (line: string): boolean => IMAGE_VARS.test(line) || [...derived].some((n) => new RegExp(`\\b${n}\\b`).test(line));
  for (let grew = true; grew; ) {
    const before = derived.size;
    for (const lines of files) {
      for (const line of lines.filter((l) => !/^\s*#/.test(l) && readsAny(l))) {
        const name = assignedName(line);
        if (name) derived.add(name);
        else for (const l of lines) if (assignedName(l)) derived.add(assignedName(l)!);
      }
    }
    grew = derived.size > before;
  }
  return [...derived].sort();
}

/** `NAME=`, `export NAME=`, `NAME()` or `function NAME` at a line's start (after indentation): what the line sets or defines. */
function assignedName(line: string): string | null {
  const m = /^\s*(?:(?:export|declare(?:\s+-[a-zA-Z]+)*|readonly|local)\s+)?(?:([A-Za-z_][A-Za-z0-9_]*)(?:=|\s*\(\))|function\s+([A-Za-z_][A-Za-z0-9_]*))/.exec(line);
  return m ? (m[1] ?? m[2]!) : null;
}

/**
 * For each pattern, whether any file under `dir` (symlinks not followed, as `grep -r`) contains it; every file is read
 * once. A pattern given with a filter is looked for only in the files (paths relative to `dir`) the filter takes.
 */
async function mentions(dir: string, patterns: (RegExp | [RegExp, (rel: string) => boolean])[]): Promise<boolean[]> {
  const found = patterns.map(() => false);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = await readFile(file, 'latin1');
    patterns.forEach((p, i) => (found[i] ||= p instanceof RegExp ? p.test(text) : p[1](path.relative(dir, file)) && p[0].test(text)));
    if (found.every(Boolean)) break;
  }
  return found;
}

type CommonFields = Pick<StepInputs, 'phase' | 'script' | 'distro' | 'release' | 'arch' | 'sourceDateEpoch' | 'volatile' | 'volatileScope'>;

/** The key fields every step has: where it sits and what it is built for. */
export function commonInputs(step: StepCommon, ctx: InputContext): CommonFields {
  return {
    phase: step.phase,
    script: step.id,
    distro: ctx.distro.family,
    release: ctx.distro.release,
    arch: ctx.distro.arch,
    sourceDateEpoch: ctx.sourceDateEpoch,
    volatile: volatilePaths(ctx.elements),
    volatileScope: ctx.volatileScope.length > 0 ? [...ctx.volatileScope] : null,
  };
}

/** The image's volatile paths (volatileUnion of its elements); null when there are none. */
function volatilePaths(elements: readonly Element[]): string[] | null {
  const all = volatileUnion(elements);
  return all.length > 0 ? all : null;
}

/** How to make a step's hook environment (hook-env.ts). */
export function envOptions(step: StepCommon, ctx: InputContext): HookEnvOptions {
  return { place: step.place, distro: ctx.distro, hooksDir: ctx.hooksDir, declared: ctx.declared, sourceDateEpoch: ctx.sourceDateEpoch, dibLib: ctx.dibLib };
}

/** sha256 of one of imgfactory's helper scripts in the merged hooks tree: part of the key of the steps it runs. */
export function helperDigest(ctx: InputContext, name: string): Promise<FileDigest> {
  return sha256File(path.join(ctx.hooksDir, HELPER_DIR, name));
}
