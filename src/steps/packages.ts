// Turns the package-installs data of every element into the package steps of
// each phase, as diskimage-builder's package-installs element does: in a
// phase, `01-package-installs` installs what the phase lists and
// `99-package-uninstalls` removes what it marks `uninstall` plus its
// `build-only` packages (installed for the phase's hooks, gone afterwards).
// Names go through the element's pkg-map; arch/not-arch/when are applied.
// The steps run imgfactory's `package-installs` helper (apt) inside the tree
// and are keyed by their package list; they read the archive, so --refresh
// runs them again.
import { readFile } from 'node:fs/promises';
import type { Distro } from '../distro/distro.js';
import type { Element } from '../elements/element.js';
import { packageApplies } from '../elements/package-installs.js';
import type { PhaseName } from '../elements/phases.js';
import { FailureError } from '../failure.js';
import { UNKNOWN_PACKAGE_EXIT, UNKNOWN_PACKAGE_MARK } from './helper-scripts.js';
import { hookEnv, keyEnv } from './hook-env.js';
import { commonInputs, envOptions, helperDigest } from './inputs.js';
import type { StepKind } from './kind.js';
import { helperPath, runSandboxed, stepFailed } from './sandboxed.js';
import type { StepCommon } from './step.js';

export interface PackageItem {
  /** The name apt sees (after pkg-map). */
  name: string;
  /** The element whose package-installs listed it. */
  element: string;
}

export interface PackagesStep extends StepCommon {
  kind: 'packages';
  phase: PhaseName;
  action: 'install' | 'uninstall';
  packages: PackageItem[];
}

const OWNER = 'package-installs';
const SCRIPT = 'package-installs';
const argsOf = (step: PackagesStep): string[] => step.packages.map((p) => `${p.name}=${p.element}`);

export const packages: StepKind<PackagesStep> = {
  kind: 'packages',
  network: () => true,
  readsHost: () => false,
  layer: 'upper',
  plan: ({ elements, distro, vars, phases }) => packageSteps(elements, distro, vars).filter((s) => phases.includes(s.phase)),
  owner: () => OWNER,
  async inputs(step, ctx) {
    const runEnv = hookEnv(envOptions(step, ctx));
    return {
      ...commonInputs(step, ctx),
      scriptDigest: await helperDigest(ctx, SCRIPT),
      elementDigest: null,
      env: keyEnv(runEnv, ctx.hooksDir),
      environmentD: null,
      packages: { action: step.action, packages: argsOf(step) },
      runEnv,
    };
  },
  async exec(step, runEnv, ctx) {
    const outcome = await runSandboxed(step, ['/bin/bash', helperPath(step, ctx, SCRIPT), step.action, ...argsOf(step)], runEnv, ctx);
    if (outcome.exitCode === 0) return;
    if (outcome.exitCode === UNKNOWN_PACKAGE_EXIT) {
      const log = await readFile(ctx.logFile, 'utf8').catch(() => '');
      const names = [...log.matchAll(new RegExp(`${UNKNOWN_PACKAGE_MARK} (\\S+) \\(element (\\S+)\\)`, 'g'))].map((m) => ({ name: m[1]!, element: m[2]! }));
      if (names.length > 0) throw new FailureError({ reason: 'unknown-package', packages: names, phase: step.phase, logPath: ctx.logFile });
    }
    throw new FailureError(await stepFailed(step, OWNER, outcome, ctx.logFile));
  },
};

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
      if (!packageApplies(pkg, distro.arch, vars, element.name)) continue;
      // As DIB's package-installs-v2: a name pkg-map maps to "" is skipped, one mapped to several words is several packages.
      for (const name of mapPackageName(element, distro, pkg.name).split(/\s+/).filter(Boolean)) {
        const item = { name, element: element.name };
        if (pkg.uninstall) add(uninstall, pkg.phase, item);
        else add(install, pkg.phase, item);
        if (pkg.buildOnly) add(uninstall, pkg.phase, item);
      }
    }
  }
  const steps: PackagesStep[] = [];
  for (const [map, action, script] of [
    [install, 'install', INSTALL_SCRIPT],
    [uninstall, 'uninstall', UNINSTALL_SCRIPT],
  ] as const) {
    for (const [phase, packages] of map) {
      const sorted = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      steps.push({ kind: 'packages', id: `${OWNER}/${phase}/${script}`, phase, place: 'inside', action, packages: sorted });
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
