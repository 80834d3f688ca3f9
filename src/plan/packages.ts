// Turns the package-installs data of every element into the package steps of
// each phase, as diskimage-builder's package-installs element does: in a
// phase, `01-package-installs` installs what the phase lists and
// `99-package-uninstalls` removes what it marks `uninstall` plus its
// `build-only` packages (installed for the phase's hooks, gone afterwards).
// Names go through the element's pkg-map; arch/not-arch/when are applied.
import type { Distro } from '../distro/distro.js';
import type { Element } from '../elements/element.js';
import { packageApplies } from '../elements/package-installs.js';
import type { PhaseName } from '../elements/phases.js';
import type { PackageItem, PackagesStep } from './step.js';

export const INSTALL_SCRIPT = '01-package-installs';
export const UNINSTALL_SCRIPT = '99-package-uninstalls';

export function packageSteps(elements: Element[], distro: Distro, vars: Record<string, string>): PackagesStep[] {
  const install = new Map<PhaseName, PackageItem[]>();
  const uninstall = new Map<PhaseName, PackageItem[]>();
  const add = (map: Map<PhaseName, PackageItem[]>, phase: PhaseName, item: PackageItem): void => {
    const list = map.get(phase) ?? [];
    if (!list.some((i) => i.name === item.name)) list.push(item);
    map.set(phase, list);
  };
  for (const element of elements) {
    for (const pkg of element.packages) {
      if (!packageApplies(pkg, distro.arch, vars)) continue;
      const item = { name: mapPackageName(element, distro, pkg.name), element: element.name };
      if (pkg.uninstall) add(uninstall, pkg.phase, item);
      else add(install, pkg.phase, item);
      if (pkg.buildOnly) add(uninstall, pkg.phase, item);
    }
  }
  const steps: PackagesStep[] = [];
  for (const [map, action, script] of [
    [install, 'install', INSTALL_SCRIPT],
    [uninstall, 'uninstall', UNINSTALL_SCRIPT],
  ] as const) {
    for (const [phase, packages] of map) {
      const sorted = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      steps.push({ kind: 'packages', id: `package-installs/${phase}/${script}`, phase, place: 'inside', action, packages: sorted });
    }
  }
  return steps;
}

/**
 * diskimage-builder's pkg-map: a JSON object mapping generic names to this
 * distribution's, most specific first: release, distro, family, default.
 */
export function mapPackageName(element: Element, distro: Distro, name: string): string {
  const map = element.pkgMap as Record<string, Record<string, unknown>> | null;
  if (!map) return name;
  const pick = (table: unknown): string | undefined => {
    const v = (table as Record<string, unknown> | undefined)?.[name];
    return typeof v === 'string' ? v : undefined;
  };
  const release = (map.release?.[distro.family] as Record<string, unknown> | undefined)?.[distro.release];
  return pick(release) ?? pick(map.distro?.[distro.family]) ?? pick(map.family?.[distro.family]) ?? pick(map.default) ?? name;
}
