// diskimage-builder's install types: an element ships alternative install.d
// hooks in `install.d/<prefix>-<type>-install/`, and DIB's `install-types`
// element (extra-data.d/99-enable-install-types) links the chosen type's
// hooks into install.d, where dib-run-parts runs them with the others:
//
//   install.d/simple-init-source-install/40-glean
//   install.d/simple-init-repo-install/40-glean
//   install.d/40-glean -> simple-init-source-install/40-glean   (the link, `ln -sf`)
//
// Which directories are linked, as that hook decides (DIB 3.13):
//   1. for every variable DIB_INSTALLTYPE_<X> (its `_` read as `-`: prefix
//      P, its value: type T), the directory `P-T-install`, when there is one;
//   2. every directory `*-$DIB_DEFAULT_INSTALLTYPE-install` whose prefix no
//      DIB_INSTALLTYPE_ variable named.
// So a prefix whose variable names a type no element has runs none of its
// types' hooks. DIB matches whole directory names and never splits one, so
// neither does the selection here: a type may contain `-`.
// One module, pure: the planner (steps/hook.ts) and the variables read
// before planning (engine/condition-vars.ts) both ask it.
import type { Element, Hook } from './element.js';

/** The element whose presence in the image turns install types on (its hook is done by the planner). */
export const INSTALL_TYPES_ELEMENT = 'install-types';

/** DIB's default install type (disk-image-create: `DIB_DEFAULT_INSTALLTYPE=${DIB_DEFAULT_INSTALLTYPE:-"source"}`). */
export const DEFAULT_INSTALL_TYPE = 'source';

const VAR_PREFIX = 'DIB_INSTALLTYPE_';
const DEFAULT_VAR = 'DIB_DEFAULT_INSTALLTYPE';
const SUFFIX = '-install';

/** The prefix and type of an install.d sub-directory name, or null when it is not `<prefix>-<type>-install`. */
export function parseInstallTypeDir(name: string): { prefix: string; type: string } | null {
  if (!name.endsWith(SUFFIX)) return null;
  const stem = name.slice(0, -SUFFIX.length);
  const dash = stem.lastIndexOf('-');
  if (dash <= 0 || dash === stem.length - 1) return null;
  return { prefix: stem.slice(0, dash), type: stem.slice(dash + 1) };
}

/** The variable that chooses the type of `prefix` (`simple-init` -> DIB_INSTALLTYPE_simple_init). */
export function installTypeVar(prefix: string): string {
  return `${VAR_PREFIX}${prefix.replace(/-/g, '_')}`;
}

/**
 * The variables that can decide which of these elements' install types are
 * chosen: DIB_DEFAULT_INSTALLTYPE and DIB_INSTALLTYPE_<P> for every prefix
 * P a directory name could be read with (`a-b-c-install`: `a`, `a-b`).
 * None when the image has no install-type directory.
 */
export function installTypeVarNames(elements: readonly Element[]): string[] {
  const names = new Set<string>();
  for (const { dir } of elements.flatMap((e) => e.installTypes)) {
    const stem = dir.slice(0, -SUFFIX.length);
    for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) names.add(installTypeVar(stem.slice(0, i)));
    names.add(DEFAULT_VAR);
  }
  return [...names].sort();
}

/** The install.d sub-directory names the install-types hook links, from all the names there are and the variables it sees. */
export function chosenInstallTypeDirs(dirs: ReadonlySet<string>, vars: Record<string, string>): Set<string> {
  const chosen = new Set<string>();
  const named = new Set<string>();
  for (const [name, type] of Object.entries(vars)) {
    if (!name.startsWith(VAR_PREFIX)) continue;
    const prefix = name.slice(VAR_PREFIX.length).replace(/_/g, '-');
    named.add(prefix);
    if (dirs.has(`${prefix}-${type}${SUFFIX}`)) chosen.add(`${prefix}-${type}${SUFFIX}`);
  }
  const suffix = `-${vars[DEFAULT_VAR] ?? DEFAULT_INSTALL_TYPE}${SUFFIX}`;
  for (const dir of dirs) if (dir.endsWith(suffix) && !named.has(dir.slice(0, -suffix.length))) chosen.add(dir);
  return chosen;
}

/** A hook of a chosen install type, and whose it is. */
export interface ChosenHook {
  element: string;
  /** The install-type directory it is in (its link is `install.d/<hook.name> -> <dir>/<hook.name>`). */
  dir: string;
  hook: Hook;
}

/** A DIB_INSTALLTYPE_ variable that names a type no element has, for a prefix that has others. */
export interface UnmatchedChoice {
  variable: string;
  value: string;
  /** The directory it names. */
  wanted: string;
  /** The install-type directories that prefix has, none of which runs. */
  dirs: string[];
}

/** What the install-types hook would link in this image, and the choices that link nothing. */
export function chooseInstallTypes(elements: readonly Element[], vars: Record<string, string>): { hooks: ChosenHook[]; unmatched: UnmatchedChoice[] } {
  const all = new Set(elements.flatMap((e) => e.installTypes.map((t) => t.dir)));
  const chosen = chosenInstallTypeDirs(all, vars);
  const hooks = elements.flatMap((e) => e.installTypes.filter((t) => chosen.has(t.dir)).flatMap((t) => t.hooks.map((hook) => ({ element: e.name, dir: t.dir, hook }))));
  const unmatched: UnmatchedChoice[] = [];
  for (const [variable, value] of Object.entries(vars)) {
    if (!variable.startsWith(VAR_PREFIX)) continue;
    const prefix = variable.slice(VAR_PREFIX.length).replace(/_/g, '-');
    const wanted = `${prefix}-${value}${SUFFIX}`;
    if (all.has(wanted)) continue;
    const dirs = [...all].filter((d) => d.startsWith(`${prefix}-`) && parseInstallTypeDir(d)?.prefix === prefix).sort();
    if (dirs.length > 0) unmatched.push({ variable, value, wanted, dirs });
  }
  return { hooks, unmatched };
}
