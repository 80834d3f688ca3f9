// The merged hooks tree, as diskimage-builder builds it: the contents of every
// element directory copied in build order into one directory (so later
// elements' files win), plus imgfactory's helper scripts. Inside the tree it
// is bind-mounted read-only at /tmp/in_target.d; outside it is TMP_HOOKS_PATH.
//
//   hooks/
//     install.d/50-foo          hooks of all elements, by phase
//     environment.d/10-bar      sourced before every hook
//     bin/                      on PATH
//     static/ ...               whatever else the elements ship
//     install.d/40-glean -> simple-init-source-install/40-glean
//                               a chosen install type's hook (linkInstallTypes)
//     imgfactory/run-hook       imgfactory's helpers (helper-scripts.ts)
import { chmod, lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Element } from '../elements/element.js';
import { FailureError } from '../failure.js';
import { HELPER_DIR, HELPERS } from '../steps/helper-scripts.js';
import { copyOver } from '../util/copy-over.js';

export async function makeHooksTree(elements: Element[], dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  // Element by element, in order, so later elements win. An element may sit inside another's directory (DIB's
  // debian-minimal/test-elements/stable-vm, put on the path as run_functests.sh does): it is copied twice.
  // A later element's file replaces an earlier one's (util/copy-over.ts: never written through its link).
  for (const e of elements) {
    const refuse = (rel: string, problem: string): FailureError => new FailureError({ reason: 'malformed-element', at: { element: e.name, file: path.join(e.dir, rel) }, message: `${rel} ${problem}` });
    // imgfactory writes into these after the copy: an element's link there would take its writes elsewhere (onto the host).
    if (await lstat(path.join(e.dir, HELPER_DIR)).catch(() => null)) throw refuse(HELPER_DIR, "is imgfactory's: its helpers go there in the hooks tree");
    if ((await lstat(path.join(e.dir, 'install.d')).catch(() => null))?.isSymbolicLink()) throw refuse('install.d', 'is a symlink: imgfactory links the chosen install types there');
    await copyOver(e.dir, dest, (rel, problem) => refuse(rel, `${problem} (what an element before it in the build order put there)`));
  }
  // Always present, so every build digests and sources them the same way.
  for (const d of ['environment.d', 'bin']) await mkdir(path.join(dest, d), { recursive: true });
  const helpers = path.join(dest, HELPER_DIR);
  await mkdir(helpers, { recursive: true });
  for (const [name, text] of Object.entries(HELPERS)) {
    await mkdir(path.dirname(path.join(helpers, name)), { recursive: true });
    await writeFile(path.join(helpers, name), text);
    await chmod(path.join(helpers, name), 0o755);
  }
  await chmod(dest, 0o755);
}

/**
 * Makes the links DIB's install-types hook makes (`ln -sf <dir>/<name> .` in
 * install.d), for the install-type steps the plan holds: run-hook runs
 * `$TMP_HOOKS_PATH/install.d/<name>`, so the hook runs by the path (its $0)
 * it has in DIB. A file of that name copied from an element is replaced, as
 * `ln -sf` replaces it (its step is not planned). Called once the plan is
 * made, before any step runs.
 */
export async function linkInstallTypes(dest: string, links: readonly { name: string; dir: string }[]): Promise<void> {
  for (const { name, dir } of links) {
    const at = path.join(dest, 'install.d', name);
    await rm(at, { force: true });
    await symlink(`${dir}/${name}`, at);
  }
}
