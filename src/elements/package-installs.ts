// Parses and validates an element's package-installs.yaml (or .json), the
// diskimage-builder format: a map from package name to nothing, to a map of
// options, or to a list of such maps. Every problem names the line.
//
//   vim:                              install in install.d
//   grub2: {phase: pre-install.d}
//   nano: {uninstall: true}           remove instead of install
//   gcc: {build-only: true}           install, and remove after post-install.d
//   linux-image-amd64: {arch: amd64}  only on these architectures
//   dmidecode: {not-arch: ppc64el}
//   python3-foo: {when: DIB_FOO = 1}  or a list of conditions, all must hold
//   foo-lib: {installtype: package}    only when the element's install type is
//                                      (DIB_INSTALLTYPE_<element>, else DIB_DEFAULT_INSTALLTYPE, else source)
//   python3-yaml: {dib_python_version: 3}  only when DIB_PYTHON_VERSION is
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import { isPhaseName, type PhaseName } from './phases.js';
import { DEFAULT_INSTALL_TYPE } from './install-types.js';

export interface PackageCondition {
  variable: string;
  op: '=' | '!=';
  value: string;
}

export interface PackageInstall {
  name: string;
  phase: PhaseName;
  uninstall: boolean;
  buildOnly: boolean;
  arch: string[] | null;
  notArch: string[] | null;
  when: PackageCondition[];
  /** DIB's `installtype`: the install type this entry is for (null: any). */
  installtype: string | null;
  /** DIB's `dib_python_version`: the DIB_PYTHON_VERSION this entry is for (null: any). */
  pythonVersion: string | null;
  line: number;
}

export type PackageInstallsResult = { ok: true; packages: PackageInstall[] } | { ok: false; line: number; message: string };

const KEYS = new Set(['phase', 'uninstall', 'build-only', 'arch', 'not-arch', 'when', 'installtype', 'dib_python_version']);
/** A Debian package name, or a generic name pkg-map maps to one (DIB's `NetworkManager`, `python3-PyYAML`). */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*(:[a-z0-9-]+)?$/;

export function parsePackageInstalls(text: string): PackageInstallsResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const lineOf = (node: Node | null | undefined): number =>
    node?.range ? lineCounter.linePos(node.range[0]).line : 1;
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    return { ok: false, line: e.linePos?.[0]?.line ?? 1, message: e.message.split('\n')[0]! };
  }
  if (doc.contents === null) return { ok: true, packages: [] };
  if (!isMap(doc.contents)) return { ok: false, line: lineOf(doc.contents), message: 'expected a map of package names' };

  const packages: PackageInstall[] = [];
  const seen = new Map<string, number>();
  for (const pair of doc.contents.items as Pair<Node, Node | null>[]) {
    const line = lineOf(pair.key);
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!PACKAGE_NAME.test(name)) return { ok: false, line, message: `"${name}" is not a package name` };
    if (seen.has(name)) return { ok: false, line, message: `"${name}" is listed twice (first at line ${seen.get(name)}); use a list of option maps instead` };
    seen.set(name, line);
    const value = pair.value;
    const variants: (Node | null)[] = isSeq(value) ? (value.items as Node[]) : [value];
    for (const variant of variants) {
      const parsed = parseOptions(name, variant, line, lineOf);
      if (!parsed.ok) return parsed;
      packages.push(parsed.pkg);
    }
  }
  return { ok: true, packages };
}

type OptionsResult = { ok: true; pkg: PackageInstall } | { ok: false; line: number; message: string };

function parseOptions(name: string, node: Node | null, line: number, lineOf: (n: Node | null | undefined) => number): OptionsResult {
  const pkg: PackageInstall = { name, phase: 'install.d', uninstall: false, buildOnly: false, arch: null, notArch: null, when: [], installtype: null, pythonVersion: null, line };
  if (node === null || (isScalar(node) && (node.value === null || node.value === ''))) return { ok: true, pkg };
  if (!isMap(node)) return { ok: false, line: lineOf(node), message: `options of "${name}" must be a map` };
  for (const pair of node.items as Pair<Node, Node | null>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const at = lineOf(pair.key);
    const raw = isScalar(pair.value) ? pair.value.value : pair.value?.toJSON();
    if (!KEYS.has(key)) return { ok: false, line: at, message: `unknown option "${key}" for "${name}" (known: ${[...KEYS].join(', ')})` };
    switch (key) {
      case 'phase':
        if (typeof raw !== 'string' || !isPhaseName(raw)) return { ok: false, line: at, message: `"${String(raw)}" is not a phase` };
        pkg.phase = raw;
        break;
      case 'uninstall':
      case 'build-only': {
        if (typeof raw !== 'boolean') return { ok: false, line: at, message: `"${key}" must be true or false` };
        if (key === 'uninstall') pkg.uninstall = raw;
        else pkg.buildOnly = raw;
        break;
      }
      case 'arch':
      case 'not-arch': {
        if (typeof raw !== 'string') return { ok: false, line: at, message: `"${key}" must be a comma-separated list` };
        const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
        if (key === 'arch') pkg.arch = list;
        else pkg.notArch = list;
        break;
      }
      case 'when': {
        const items = Array.isArray(raw) ? raw : [raw];
        for (const item of items) {
          const cond = parseCondition(item);
          if (!cond) return { ok: false, line: at, message: `"when" needs "VARIABLE = value" or "VARIABLE != value", got "${String(item)}"` };
          pkg.when.push(cond);
        }
        break;
      }
      case 'installtype':
        if (typeof raw !== 'string' || raw === '') return { ok: false, line: at, message: `"installtype" must be an install type such as "package" or "source"` };
        pkg.installtype = raw;
        break;
      case 'dib_python_version':
        if ((typeof raw !== 'string' && typeof raw !== 'number') || String(raw) === '') return { ok: false, line: at, message: `"dib_python_version" must be a version such as 3` };
        pkg.pythonVersion = String(raw);
        break;
    }
  }
  if (pkg.uninstall && pkg.buildOnly) return { ok: false, line, message: `"${name}" cannot be both uninstall and build-only` };
  return { ok: true, pkg };
}

function parseCondition(item: unknown): PackageCondition | null {
  if (typeof item !== 'string') return null;
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|=)\s*(.*?)\s*$/.exec(item);
  if (!m) return null;
  return { variable: m[1]!, op: m[2] as '=' | '!=', value: m[3]! };
}

/** Does this entry of `element` apply to a build for `arch` with these variables? As DIB's package-installs-squash decides. */
export function packageApplies(pkg: PackageInstall, arch: string, vars: Record<string, string>, element = ''): boolean {
  if (pkg.arch && !pkg.arch.includes(arch)) return false;
  if (pkg.notArch && pkg.notArch.includes(arch)) return false;
  if (pkg.installtype !== null) {
    const installType = vars[`DIB_INSTALLTYPE_${element.replace(/-/g, '_')}`] ?? vars.DIB_DEFAULT_INSTALLTYPE ?? DEFAULT_INSTALL_TYPE;
    if (pkg.installtype !== installType) return false;
  }
  if (pkg.pythonVersion !== null && pkg.pythonVersion !== (vars.DIB_PYTHON_VERSION ?? '')) return false;
  return pkg.when.every((c) => ((vars[c.variable] ?? '') === c.value) === (c.op === '='));
}
