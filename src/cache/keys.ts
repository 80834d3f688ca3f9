// The ONE place layer keys are derived. A key is a hash chain (osbuild's
// stage id, BuildKit's cache map): sha256 over the canonical JSON of a
// versioned tag, the parent step's key, and everything that can change the
// bytes this step writes. Whatever cannot change those bytes (absolute paths,
// job count, log level, cache location, wall-clock time) is left out on
// purpose. Optional fields are hashed only when set, so adding one later keeps
// existing keys valid.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { FileDigest, LayerKey } from './digest.js';
import { LAYER_KEY_TAG, OUTPUT_KEY_TAG } from './format.js';

/** Everything that decides what one step writes into the root tree. */
export interface StepKeyFields {
  /** The previous step's key (null for the first step): covers every earlier step, so a change anywhere before invalidates everything after. */
  parent: LayerKey | null;
  /**
   * sha256 of the previous step's layer blob (null for the first step): the
   * parent key says which inputs made the tree so far, this says which bytes
   * it holds. After --refresh rebuilds a network-dependent step (new package
   * versions under the same key), every later step must run again on the new
   * bytes instead of stacking an old layer on them.
   */
  parentLayer?: FileDigest | null;
  /** 'base' for the distro bootstrap, else the DIB phase: the same script run in another phase runs in- or outside the chroot. */
  phase: string;
  /** '<element>/<phase>/<file>', 'distro/<name>' or 'builtin/<name>': which hook this is; two swapped scripts must give different keys. */
  script: string;
  /** sha256 of the script's bytes: an edited script must run again. */
  scriptDigest: FileDigest;
  /** digestTree of the element owning the script, its hook scripts left out (each has its own scriptDigest): hooks read their element's other files (static files, helpers). */
  elementDigest: FileDigest | null;
  /** Declared build variables only (never the whole process env): scripts branch on them (DIB_*, ...). */
  env: Record<string, string>;
  /** Digest of the environment.d snippets sourced before the step (all elements, by path): they set variables the script reads. */
  environmentD: FileDigest | null;
  /** The package-installs data this step uses (any JSON value) or null: installing another package list gives another tree. */
  packages: unknown;
  /** The distro (debian, ubuntu, ...): the same hook on another distro writes other files. */
  distro: string;
  /** The release (bookworm, ...): likewise. */
  release: string;
  /** Target architecture: binaries and package choice differ. */
  arch: string;
  /** SOURCE_DATE_EPOCH if reproducible timestamps were asked for: it changes file times in the layer. */
  sourceDateEpoch: number | null;
  /**
   * The secrets offered to the step (`--secret`), by id and whether it is
   * also a variable; never a value. A hook may branch on whether a secret is
   * there (a private mirror when a token is given), but changing a secret's
   * value must not change any key: that is what makes it a secret.
   */
  secrets?: { id: string; exported: boolean }[] | null;
  /**
   * For a step that reads the host (a hook run outside the tree: what it
   * reads there, e.g. devuser's copy of ~/.ssh/id_rsa.pub, is named nowhere
   * before it runs), the digest of the layer it made: it runs in every build
   * and is keyed by what it produced, as BuildKit keys a local context by its
   * content. Null for every other step.
   */
  hostResult?: FileDigest | null;
  /**
   * For a step that installs from the archive (the base tree, apt package
   * steps, root.d hooks): the archive's state, per suite the sha256 of its
   * InRelease file (distro/archive-state.ts). The same inputs install other
   * package versions once Debian publishes; with this, a cached step stays
   * valid while its archive is unchanged and is built again when it moves.
   * Null for every other step: the chain (parentLayer) carries the change.
   */
  archive?: { suite: string; sha256: string }[] | null;
  /**
   * The image's volatile paths (elements' `volatile-paths`) that were removed
   * from the step's change, sorted: with `volatileHeld`, those among the
   * paths the change held. Null or empty when none were (keys made before
   * the field existed stay valid).
   */
  volatile?: string[] | null;
  /**
   * Set when the step's change held nothing that any of these paths matches:
   * every volatile path of every element on the search path, sorted. Its
   * layer is then the same whatever volatile paths an image declares, so
   * images made of other elements (the controller and the compute node)
   * share it. The list itself is keyed: on a search path with another
   * element, a path could be volatile that this change did hold.
   */
  volatileFree?: string[] | null;
  /**
   * Set when the step's change held something: the search path's volatile
   * paths that matched it, sorted, with `volatile` the image's paths among
   * them (none, maybe). Only those can have removed anything, so the layer
   * is the same for every image whose list agrees on them: the controller
   * and the compute node share the package step that makes ssh host keys,
   * though the controller's list has mariadb's and rabbitmq's paths too.
   */
  volatileHeld?: string[] | null;
  /**
   * With `volatileHeld`: every volatile path on the search path, sorted, the
   * change was tested against. A build on a search path without one of them
   * could not tell whether its change held that one too.
   */
  volatileTested?: string[] | null;
  /**
   * The key of the record (engine/chain.ts) that says which of the search
   * path's volatile paths (`volatileFree`) a step's change held, so that a
   * lookup can make the `volatileHeld` key before running the step.
   */
  volatileRecord?: boolean;
}

/** The cache key of a step's layer. Throws (TypeError) on malformed fields: a programming error. */
export function layerKey(f: StepKeyFields): LayerKey {
  if (f.sourceDateEpoch !== null && !(Number.isSafeInteger(f.sourceDateEpoch) && f.sourceDateEpoch >= 0)) {
    throw new TypeError(`sourceDateEpoch must be a non-negative integer, got ${f.sourceDateEpoch}`);
  }
  const hashed: Record<string, unknown> = {
    v: LAYER_KEY_TAG,
    phase: f.phase,
    script: f.script,
    scriptDigest: f.scriptDigest,
    env: f.env,
    distro: f.distro,
    release: f.release,
    arch: f.arch,
  };
  if (f.parent !== null) hashed.parent = f.parent;
  if (f.parentLayer !== null && f.parentLayer !== undefined) hashed.parentLayer = f.parentLayer;
  if (f.elementDigest !== null) hashed.elementDigest = f.elementDigest;
  if (f.environmentD !== null) hashed.environmentD = f.environmentD;
  if (f.packages !== null && f.packages !== undefined) hashed.packages = f.packages;
  if (f.sourceDateEpoch !== null) hashed.sourceDateEpoch = f.sourceDateEpoch;
  if (f.hostResult !== null && f.hostResult !== undefined) hashed.hostResult = f.hostResult;
  if (f.archive !== null && f.archive !== undefined) hashed.archive = f.archive.map((s) => ({ suite: s.suite, sha256: s.sha256 }));
  if (f.volatile && f.volatile.length > 0) hashed.volatile = f.volatile;
  if (f.volatileFree && f.volatileFree.length > 0) {
    if (f.volatile && f.volatile.length > 0) throw new TypeError('volatile and volatileFree exclude each other: a layer is keyed by the paths removed from it, or as holding none');
    hashed.volatileFree = f.volatileFree;
  }
  if (f.volatileHeld && f.volatileHeld.length > 0) {
    if (f.volatileFree && f.volatileFree.length > 0) throw new TypeError('volatileHeld and volatileFree exclude each other: a change held volatile paths or none');
    if (f.volatile?.some((p) => !f.volatileHeld!.includes(p))) throw new TypeError('volatile must be among volatileHeld: a path that matched nothing removed nothing');
    hashed.volatileHeld = f.volatileHeld;
    if (f.volatileTested && f.volatileTested.length > 0) hashed.volatileTested = f.volatileTested;
  } else if (f.volatileTested && f.volatileTested.length > 0) {
    throw new TypeError('volatileTested goes with volatileHeld: it is the list a held change was tested against');
  }
  if (f.volatileRecord) hashed.volatileRecord = true;
  if (f.secrets && f.secrets.length > 0) hashed.secrets = f.secrets.map((s) => ({ id: s.id, exported: s.exported }));
  return hashKey(hashed);
}

/**
 * The key of the final image outputs: the last layer's key (the whole tree)
 * plus the assembly settings (formats, sizes, partitioning, boot loader...),
 * which must not contain paths or anything else that cannot change the bytes.
 */
export function outputKey(last: LayerKey, settings: unknown): LayerKey {
  return hashKey({ v: OUTPUT_KEY_TAG, layer: last, settings });
}

/** What decides one output file's bytes beyond the tree's key. */
export interface OutputFileKeyFields {
  /** The last step's key: which inputs made the tree. */
  lastKey: LayerKey;
  /** sha256 of the last step's layer blob: which bytes the tree holds (--refresh may change them under the same key). */
  lastLayer: FileDigest;
  /** The format's recorded name (src/output/formats.ts): another format, other bytes. */
  format: string;
  /** 'disk' formats are assembled with `disk`; a 'tree' archive does not depend on it, so its key leaves it out. */
  kind: 'disk' | 'tree';
  /** What beyond the tree changes a disk image's bytes (layout, sizes, compression, block-device.d hooks): diskKeySettings. */
  disk: unknown;
}

/**
 * The cache key of one output file. `v` is the output recipe's version: bump
 * it when an output is made differently from the same inputs.
 */
export function outputFileKey(f: OutputFileKeyFields): LayerKey {
  return outputKey(f.lastKey, { v: 1, format: f.format, lastLayer: f.lastLayer, ...(f.kind === 'tree' ? {} : { disk: f.disk }) });
}

/**
 * The cache key of a final tree's installed-package list (kept next to the
 * outputs, so a build that needs no tree can still list them in its
 * manifest): the tree's key and bytes decide it, nothing else.
 */
export function installedPackagesKey(lastKey: LayerKey, lastLayer: FileDigest): LayerKey {
  return outputKey(lastKey, { v: 1, kind: 'installed-packages', lastLayer });
}

function hashKey(value: unknown): LayerKey {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}` as LayerKey;
}
