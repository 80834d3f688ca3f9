// The environment a hook sees, and the part of it that goes into cache keys.
// A build's inputs must be known, so nothing leaks from the caller's
// environment except DECLARED variables:
//   - every DIB_* variable the caller has set (the convention elements use
//     for their knobs), and
//   - whatever `--env NAME[=VALUE]` names.
// On top come the variables diskimage-builder hooks rely on. IMAGE_NAME and
// IMAGE_ELEMENT (and DIB_IMAGE_ELEMENT) are set only for elements whose files
// mention them: an image-specific value in every key would stop two images
// from sharing any layer, and a variable that is not set cannot go stale.
import type { Distro } from '../distro/distro.js';
import type { Place } from '../elements/phases.js';
import { FailureError } from '../failure.js';
import { looksSecret } from '../secrets/names.js';
import type { SecretRef } from '../secrets/secret.js';
import { dibDefaults, DIE_FUNCTION, imageElementVars } from './dib-runtime.js';
import { HELPER_DIR } from './helper-scripts.js';

/** Where the merged hooks tree is mounted inside the root tree. */
export const IN_TARGET_HOOKS = '/tmp/in_target.d';

/** What a shell can export: a letter or `_`, then letters, digits and `_`. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Names imgfactory sets for every hook (or for some): a value declared with
 * --env would be overwritten, so it is refused instead, with the option that
 * sets it where there is one.
 */
const RESERVED: Record<string, string | null> = {
  PATH: null,
  HOME: null,
  LC_ALL: null,
  LANG: null,
  TMP_HOOKS_PATH: null,
  TARGET_ROOT: null,
  TMP_MOUNT_PATH: null,
  _LIB: null,
  IMAGE_ELEMENT_YAML: null,
  DIB_ARGS: null,
  DIB_ENV: null,
  ARCH: null,
  DISTRO_NAME: '--distro',
  DIB_RELEASE: '--release (or DIB_RELEASE in the environment)',
  DIB_INIT_SYSTEM: '--distro',
  DIB_DISTRIBUTION_MIRROR: '--mirror (or DIB_DISTRIBUTION_MIRROR in the environment)',
  DEBIAN_FRONTEND: null,
  PYTHONDONTWRITEBYTECODE: null,
  SOURCE_DATE_EPOCH: '--source-date-epoch',
  IMAGE_NAME: '--image-name',
  IMAGE_ELEMENT: null,
  DIB_IMAGE_ELEMENT: null,
  IMAGE_BLOCK_DEVICE: null,
  IMAGE_BLOCK_DEVICE_TYPE: null,
};

/** What else decides which variables are declared. */
export interface DeclareOptions {
  /** The build's secrets (`--secret`): their ids are never declared; an exported one must be a name hooks can get. */
  secrets?: readonly SecretRef[];
  /** `--not-secret NAME`: names that look like secrets (secrets/names.ts) but are plain inputs. */
  notSecret?: readonly string[];
}

/**
 * The declared variables: every DIB_* of `env`, and each `--env NAME=VALUE`
 * (or `NAME`, its value taken from `env`; left out when unset). A name a
 * shell could not export, one imgfactory sets itself, or one that looks like
 * a secret (declared values are recorded and keyed) is a usage failure naming
 * the name and never the value. A DIB_* variable that is a secret's id is
 * the secret's, not a declared one.
 */
export function declaredVars(env: NodeJS.ProcessEnv, extra: string[] = [], opts: DeclareOptions = {}): Record<string, string> {
  const secretIds = new Set((opts.secrets ?? []).map((s) => s.id));
  for (const s of opts.secrets ?? []) if (s.exported) checkName(s.id, `--secret id=${s.id},export`);
  const vars: Record<string, string> = {};
  const given = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('DIB_') || v === undefined || secretIds.has(k)) continue;
    vars[k] = v;
    given.set(k, `${k} (in the environment)`);
  }
  for (const item of extra) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    checkName(name, `--env ${JSON.stringify(name)}`);
    if (secretIds.has(name)) throw new FailureError({ reason: 'usage', message: `--env ${name}: ${name} is a --secret too`, hint: 'give it one way: --secret for a secret, --env for a plain input' });
    const value = eq < 0 ? env[name] : item.slice(eq + 1);
    if (value !== undefined) {
      vars[name] = value;
      given.set(name, `--env ${name}`);
    }
  }
  const notSecret = new Set(opts.notSecret ?? []);
  for (const name of notSecret) {
    if (!(name in vars)) throw new FailureError({ reason: 'usage', message: `--not-secret ${name}: no declared variable is called ${name}`, hint: 'it names a variable given with --env or a DIB_* variable of the environment' });
  }
  for (const [name, how] of given) {
    if (!looksSecret(name) || notSecret.has(name)) continue;
    throw new FailureError({
      reason: 'usage',
      message: `${how}: the name looks like a secret, and a declared variable is recorded in the manifest and the provenance and is part of cache keys`,
      hint: `pass it as a secret: --secret id=${name},export (hooks get it; no key, layer, log or manifest does); or, if it is not one, say so with --not-secret ${name}`,
    });
  }
  return vars;
}

/** A name hooks may be given: one a shell can export and imgfactory does not set itself. */
function checkName(name: string, what: string): void {
  if (!NAME.test(name)) {
    throw new FailureError({ reason: 'usage', message: `${what}: not a variable name a shell could export`, hint: 'a name is a letter or "_", then letters, digits and "_": --env NAME=VALUE' });
  }
  if (name in RESERVED) {
    const instead = RESERVED[name];
    throw new FailureError({
      reason: 'usage',
      message: `${what}: imgfactory sets ${name} for hooks itself`,
      hint: instead ? `use ${instead}` : `reserved names: ${Object.keys(RESERVED).join(', ')}`,
    });
  }
}

/**
 * Host directories outside hooks may write besides the tree and the hooks
 * tree (which hold the defaults of DIB_IMAGE_CACHE and DIB_MANIFEST_SAVE_DIR):
 * a DIB_IMAGE_CACHE declared as an absolute path (debootstrap keeps its
 * tarball there), and what `--host-writable` names.
 */
export function outsideWritable(declared: Record<string, string>, extra: readonly string[] = []): string[] {
  const cache = declared.DIB_IMAGE_CACHE;
  return [...(cache && cache.startsWith('/') ? [cache] : []), ...extra];
}

export interface HookEnvOptions {
  place: Place;
  distro: Distro;
  /** Host path of the merged hooks tree (outside hooks see it there). */
  hooksDir: string;
  declared: Record<string, string>;
  sourceDateEpoch: number | null;
  /** IMAGE_NAME, IMAGE_ELEMENT(_YAML) and get_image_element_array, only when the step's element reads them. */
  image?: { name: string; elements: { name: string; dir: string }[] };
  /** DIB's shell library directory, `$_LIB` (dib-runtime.ts), when installed. */
  dibLib?: string | null;
}

/**
 * The image as a hook of an element that does not read it sees it, when an environment.d snippet does (steps/inputs.ts):
 * set, since the snippet runs under `set -u` in every hook, but not the image's own, so that its key does not depend on
 * it. `image` is disk-image-create's name when -o is not given.
 */
export const UNNAMED_IMAGE = { name: 'image', elements: [] } as const satisfies HookEnvOptions['image'];

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The complete environment of one hook (the sandbox adds TARGET_ROOT and TMP_MOUNT_PATH outside). */
export function hookEnv(o: HookEnvOptions): Record<string, string> {
  const hooks = o.place === 'inside' ? IN_TARGET_HOOKS : o.hooksDir;
  const env: Record<string, string> = {
    ...dibDefaults(o.distro, o.hooksDir),
    ...o.declared,
    LC_ALL: 'C',
    LANG: 'C',
    HOME: '/root',
    // imgfactory's helpers last: a `sudo` stand-in for trees and hosts that have none.
    PATH: `${hooks}/bin:${SYSTEM_PATH}:${hooks}/${HELPER_DIR}/bin`,
    TMP_HOOKS_PATH: hooks,
    ARCH: o.distro.arch,
    DISTRO_NAME: o.distro.family,
    DIB_RELEASE: o.distro.release,
    DIB_INIT_SYSTEM: o.distro.initSystem,
    DIB_DISTRIBUTION_MIRROR: o.distro.mirror,
    DEBIAN_FRONTEND: 'noninteractive',
    // Python writes no .pyc when it imports: a postinst that imports a module
    // (horizon's `manage.py collectstatic`) while py3compile still compiles it
    // would race it, and which .pyc won would differ from build to build.
    // py3compile writes every package's .pyc, hash-checked under SOURCE_DATE_EPOCH.
    PYTHONDONTWRITEBYTECODE: '1',
    [DIE_FUNCTION[0]]: DIE_FUNCTION[1],
  };
  if (o.dibLib) env._LIB = o.dibLib;
  if (o.sourceDateEpoch !== null) env.SOURCE_DATE_EPOCH = String(o.sourceDateEpoch);
  if (o.image) {
    env.IMAGE_NAME = o.image.name;
    env.IMAGE_ELEMENT = o.image.elements.map((e) => e.name).join(' ');
    env.DIB_IMAGE_ELEMENT = env.IMAGE_ELEMENT;
    Object.assign(env, imageElementVars(o.image.elements, o.declared));
  }
  return env;
}

/**
 * The hook environment as it goes into a key: host paths blanked (they
 * cannot change the bytes): the hooks tree's, and each element directory's
 * (the elements' contents are keyed by digest, inputs.ts).
 */
export function keyEnv(env: Record<string, string>, hooksDir: string, elements: { name: string; dir: string }[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    let blanked = v.split(hooksDir).join('<hooks>');
    for (const e of elements) blanked = blanked.split(e.dir).join(`<element:${e.name}>`);
    out[k] = blanked;
  }
  return out;
}
