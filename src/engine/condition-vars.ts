// The variables package-installs' conditions and install-types' choice are
// decided with. diskimage-
// builder decides `when:`, `installtype` and `dib_python_version` in
// package-installs-squash, an extra-data.d hook: with the image's
// environment.d already sourced over the caller's environment. So a default
// an element sets there (simple-init's DIB_SIMPLE_INIT_NETWORKMANAGER=0,
// dib-python's DIB_PYTHON_VERSION) decides as much as a declared value. Here
// the merged hooks tree's environment.d is sourced once before planning, by
// the build's sandbox, outside the tree with the environment an extra-data.d
// hook gets, and the variables the conditions name are read back.
//
// DIB's install-types chooses at extra-data.d too (99-enable-install-types),
// from the DIB_INSTALLTYPE_* and DIB_DEFAULT_INSTALLTYPE that hook sees: so
// with install-types in the image, those names are read back as well. So are,
// with DIB's bootloader in it, the variables its hook writes the boot loader's
// settings from (elements/dib-bootloader.ts): imgfactory writes grub.cfg with them.
//
// Keys: the decision's outcome, the package list, is in each package step's
// key (steps/packages.ts), so whatever environment.d decided is keyed through
// it; an install type's choice is keyed by the file it runs (steps/hook.ts).
import path from 'node:path';
import type { Distro } from '../distro/distro.js';
import type { Element } from '../elements/element.js';
import { DIB_BOOTLOADER_VARS, isDibBootloader } from '../elements/dib-bootloader.js';
import { INSTALL_TYPES_ELEMENT, installTypeVarNames } from '../elements/install-types.js';
import { FailureError } from '../failure.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { ENVIRONMENT_VAR_MARK, HELPER_DIR } from '../steps/helper-scripts.js';
import { hookEnv } from '../steps/hook-env.js';
import { hookFailed } from '../steps/sandboxed.js';

/** The variables the elements' package-installs conditions, install types and DIB's bootloader read, sorted; none when nothing is decided by a variable. */
export function conditionNames(elements: Element[]): string[] {
  const installTypes = elements.some((e) => e.name === INSTALL_TYPES_ELEMENT) ? installTypeVarNames(elements) : [];
  const names = new Set<string>(installTypes);
  if (elements.some((e) => isDibBootloader(e.name, e.hooks))) for (const v of DIB_BOOTLOADER_VARS) names.add(v);
  for (const element of elements) {
    for (const pkg of element.packages) {
      for (const c of pkg.when) names.add(c.variable);
      if (pkg.installtype !== null) names.add(`DIB_INSTALLTYPE_${element.name.replace(/-/g, '_')}`).add('DIB_DEFAULT_INSTALLTYPE');
      if (pkg.pythonVersion !== null) names.add('DIB_PYTHON_VERSION');
    }
  }
  return [...names].sort();
}

export interface ConditionVarsOptions {
  elements: Element[];
  /** IMAGE_NAME: environment.d may read it (DIB's manifests does), under `set -u`. */
  imageName: string;
  distro: Distro;
  declared: Record<string, string>;
  sourceDateEpoch: number | null;
  dibLib: string | null;
  /** The merged hooks tree (its environment.d is what is sourced). */
  hooksDir: string;
  /** An empty directory standing for the tree (no tree exists yet), and where to mount it. */
  emptyTree: string;
  mergedDir: string;
  logDir: string;
  sandbox: () => Promise<Sandbox>;
}

/**
 * The declared variables with what environment.d sets for the names the
 * conditions read laid over them. Without conditions, the declared ones as
 * they are (and no sandbox is started). An environment.d snippet that fails
 * is a hook failure of `environment.d`, as it would fail every hook.
 */
export async function conditionVars(o: ConditionVarsOptions): Promise<Record<string, string>> {
  const names = conditionNames(o.elements);
  if (names.length === 0) return o.declared;
  const image = { name: o.imageName, elements: o.elements.map((e) => ({ name: e.name, dir: e.dir })) };
  const env = hookEnv({ place: 'outside', distro: o.distro, hooksDir: o.hooksDir, declared: o.declared, sourceDateEpoch: o.sourceDateEpoch, dibLib: o.dibLib, image });
  const logFile = path.join(o.logDir, 'environment.d.log');
  const found: Record<string, string> = {};
  const sandbox = await o.sandbox();
  const outcome = await sandbox.run({
    tree: 'read-only',
    lowerDir: o.emptyTree,
    mergedDir: o.mergedDir,
    inside: false,
    argv: ['/bin/bash', path.join(o.hooksDir, HELPER_DIR, 'environment-vars'), ...names],
    env,
    binds: [],
    resolver: false,
    onLine: (stream, line) => {
      const m = stream === 'stdout' ? new RegExp(`^${ENVIRONMENT_VAR_MARK} (\\S+) (\\S*)$`).exec(line) : null;
      if (m) found[m[1]!] = Buffer.from(m[2]!, 'base64').toString('utf8');
    },
    logFile,
  });
  if (outcome.exitCode !== 0) throw new FailureError(await hookFailed({ element: 'environment.d', phase: 'extra-data.d', script: 'environment.d' }, outcome, logFile, true));
  return { ...o.declared, ...found };
}
