// What a diskimage-builder hook may rely on beyond imgfactory's own hook
// environment (docs/dib-3.13-contract.md, section 1): DIB's shell library
// directory (`_LIB`, when python3-diskimage-builder is installed), the
// `DIB_*` defaults disk-image-create sets, the exported shell functions
// `die` and `get_image_element_array`, and `IMAGE_ELEMENT_YAML`. One place,
// so that hook-env.ts stays the table of what every hook sees.
import { access } from 'node:fs/promises';
import type { Distro } from '../distro/distro.js';
import { DEFAULT_INSTALL_TYPE } from '../elements/install-types.js';

/** Where Debian's python3-diskimage-builder keeps DIB's shell libraries (`$_LIB`). */
export const DIB_LIB = '/usr/lib/python3/dist-packages/diskimage_builder/lib';

/** DIB's lib directory when it is installed here, else null (then `_LIB` is not set). */
export async function findDibLib(): Promise<string | null> {
  return access(`${DIB_LIB}/img-functions`).then(
    () => DIB_LIB,
    () => null,
  );
}

/**
 * The DIB_* defaults disk-image-create exports to every hook, as imgfactory
 * means them. A declared value (the caller's DIB_* or --env) wins over each.
 * - DIB_APT_LOCAL_CACHE=0: the dpkg element would bind-mount a .deb cache over
 *   the tree's /var/cache/apt/archives and leave it mounted; imgfactory
 *   caches whole layers instead.
 * - DIB_IMAGE_CACHE: a directory of this build (host path; blanked in keys).
 * - DIB_DEBIAN_SECURITY_*: the distro's security archive, which DIB 3.13's
 *   own default (security.debian.org, `<release>/updates`) no longer serves.
 */
export function dibDefaults(distro: Distro, hooksDir: string): Record<string, string> {
  const env: Record<string, string> = {
    DIB_DEFAULT_INSTALLTYPE: DEFAULT_INSTALL_TYPE,
    DIB_OFFLINE: '',
    DIB_DEBUG_TRACE: '0',
    DIB_PYTHON_EXEC: '/usr/bin/python3',
    DIB_APT_LOCAL_CACHE: '0',
    DIB_IMAGE_CACHE: `${hooksDir}/.dib-image-cache`,
    // The manifests element copies /etc/dib-manifests to `${IMAGE_NAME}.d/` relative to the
    // directory DIB was started in; here that would be the host's /. A directory of this build instead.
    DIB_MANIFEST_SAVE_DIR: `${hooksDir}/.dib-manifests/`,
  };
  if (distro.security) {
    env.DIB_DEBIAN_SECURITY_MIRROR = distro.security.mirror;
    // debian-minimal writes `<mirror> <release><subpath>`.
    if (distro.security.suite.startsWith(distro.release)) env.DIB_DEBIAN_SECURITY_SUBPATH = distro.security.suite.slice(distro.release.length);
  }
  return env;
}

/** An exported bash function as bash imports it from the environment. */
const exportedFunction = (name: string, body: string): [string, string] => [`BASH_FUNC_${name}%%`, `() {  ${body}\n}`];

/** `die "message"`: DIB's lib/die, exported to every hook. */
export const DIE_FUNCTION = exportedFunction('die', 'local exitcode=$?;\n    set +o xtrace;\n    echo $@;\n    exit $exitcode');

/**
 * What an element that reads the image's make-up gets: get_image_element_array
 * and IMAGE_ELEMENT_YAML (every element and its directory), DIB_ARGS (here the
 * image's elements, what DIB's command line named) and DIB_ENV (the declared
 * DIB_* variables as `export` prints them; the manifests element records both).
 */
export function imageElementVars(elements: { name: string; dir: string }[], declared: Record<string, string>): Record<string, string> {
  const sorted = [...elements].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const [fn, body] = exportedFunction('get_image_element_array', `echo "${sorted.map((e) => `[${e.name}]=${e.dir} `).join('')}"`);
  const dib = Object.keys(declared).filter((k) => k.startsWith('DIB_')).sort();
  return {
    IMAGE_ELEMENT_YAML: sorted.map((e) => `${e.name}: ${e.dir}\n`).join(''),
    [fn]: body,
    DIB_ARGS: elements.map((e) => e.name).join(' '),
    DIB_ENV: dib.map((k) => `declare -x ${k}=${JSON.stringify(declared[k])}`).join('\n'),
  };
}
