// The typed form of one element directory (diskimage-builder's layout):
//
//   <dir>/element-deps            names it needs           -> deps
//   <dir>/element-provides        virtual names it fills   -> provides
//   <dir>/environment.d/*         snippets sourced before every hook
//   <dir>/package-installs.yaml   packages per phase       -> packages
//   <dir>/pkg-map                 distro package-name map  -> pkgMap
//   <dir>/<phase>.d/NN-name       hooks                    -> hooks
//   <dir>/install.d/<prefix>-<type>-install/NN-name
//                                 DIB's install types      -> installTypes
//   <dir>/block-device-layout     the disk layout it chooses -> blockDevice
//   <dir>/block-device-default.yaml  diskimage-builder's form -> blockDevice
//   <dir>/block-device-<arch>.yaml   for one architecture    -> blockDeviceByArch
//   <dir>/volatile-paths          per-machine state its packages make,
//                                 removed from every layer -> volatilePaths
//   <dir>/bin/ <dir>/static/      tools on PATH, files to copy
//   <dir>/README.md               first paragraph          -> description
import type { NamedLine } from './name-list.js';
import type { PackageInstall } from './package-installs.js';
import type { PhaseName } from './phases.js';

export interface Hook {
  phase: PhaseName;
  /** The file name inside the phase directory, e.g. `50-install-foo`. */
  name: string;
  path: string;
}

/** One `install.d/<prefix>-<type>-install/` directory of an element. */
export interface InstallTypeDir {
  /** The directory's name under install.d, e.g. `simple-init-source-install`: what DIB matches. */
  dir: string;
  /** The prefix and type as read at the last `-` before `-install` (`simple-init`, `source`); for people, not for matching. */
  prefix: string;
  type: string;
  /** Its hooks, as dib-run-parts would run their links: runnable names, executable, in run order. */
  hooks: Hook[];
}

export interface ElementWarning {
  element: string;
  file: string;
  message: string;
}

export interface Element {
  name: string;
  dir: string;
  /** The search-path entry it was found in. */
  origin: string;
  /** Directories of elements with the same name that this one hides. */
  overrides: string[];
  description: string;
  deps: NamedLine[];
  provides: NamedLine[];
  /** Hooks by phase, in run order. */
  hooks: Partial<Record<PhaseName, Hook[]>>;
  /** install.d's install-type directories (elements/install-types.ts), in name order; their hooks are not in `hooks`. */
  installTypes: InstallTypeDir[];
  /** environment.d files, in sourcing order (file name, byte order). */
  environmentD: string[];
  packages: PackageInstall[];
  /** The package-installs file's path, when there is one. */
  packagesFile: string | null;
  pkgMap: Record<string, unknown> | null;
  /** A built-in layout name (`efi`) or an absolute path to a layout file: from `block-device-layout`, else DIB's `block-device-default.yaml`. */
  blockDevice: string | null;
  /** DIB's `block-device-<arch>.yaml` files (arch -> absolute path), preferred on that architecture as DIB prefers them; absent when none. */
  blockDeviceByArch?: Record<string, string>;
  /** From `volatile-paths`: tree paths (a `*` glob in the last part) removed from every step's layer (engine/reproducible-layer.ts). */
  volatilePaths: string[];
  hasBin: boolean;
  hasStatic: boolean;
  warnings: ElementWarning[];
}
