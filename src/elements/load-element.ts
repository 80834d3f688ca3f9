// Reads one element directory into an `Element`, validating as it goes.
// Problems a user must fix are `malformed-element` failures naming the file
// and line; traps diskimage-builder falls into silently (a hook that would
// never run) are warnings.
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, unwrap, type Result } from '../failure.js';
import { run } from '../process/run.js';
import type { Element, ElementWarning, Hook, InstallTypeDir } from './element.js';
import { compareHookNames, isRunnableHookName } from './hook-name.js';
import { dibBootloaderPackages, isDibBootloader } from './dib-bootloader.js';
import { parseInstallTypeDir } from './install-types.js';
import { parseNameList, type NamedLine } from './name-list.js';
import { parsePackageInstalls, type PackageInstall } from './package-installs.js';
import { PHASE_NAMES, type PhaseName } from './phases.js';
import { firstParagraph } from './readme.js';
import { volatilePathProblem } from './volatile-paths.js';

export async function loadElement(name: string, dir: string, origin: string): Promise<Result<Element>> {
  const warnings: ElementWarning[] = [];
  const malformed = (file: string, message: string, line?: number): Result<never> =>
    fail({ reason: 'malformed-element', at: { element: name, file: path.join(dir, file), line }, message });

  const deps = await readNames(dir, 'element-deps');
  if (!deps.ok) return malformed('element-deps', deps.message, deps.line);
  const self = deps.names.find((d) => d.name === name);
  if (self) return fail({ reason: 'self-dependency', element: name, file: `${path.join(dir, 'element-deps')}:${self.line}` });
  const provides = await readNames(dir, 'element-provides');
  if (!provides.ok) return malformed('element-provides', provides.message, provides.line);

  const hooks: Partial<Record<PhaseName, Hook[]>> = {};
  let installTypes: InstallTypeDir[] = [];
  for (const phase of PHASE_NAMES) {
    const found = await readHooks(name, dir, phase, phase, warnings);
    if (!found.ok) return malformed(phase, found.message);
    if (found.hooks.length > 0) hooks[phase] = found.hooks;
    // dib-run-parts runs no sub-directory; install.d's `<prefix>-<type>-install/` hold DIB's install types.
    if (phase === 'install.d') installTypes = await readInstallTypes(name, dir, found.subdirs, warnings);
  }

  const environmentD = (await listFiles(path.join(dir, 'environment.d'))).sort().map((f) => path.join(dir, 'environment.d', f));
  for (const file of environmentD) {
    // Every hook of the image sources every environment.d file: a syntax error
    // there would fail whichever hook ran first, far from its cause.
    const error = await shellSyntaxError(file);
    if (error) return malformed(path.relative(dir, file), `shell syntax error: ${error.message}`, error.line);
  }

  let packages: PackageInstall[] = [];
  let packagesFile: string | null = null;
  for (const file of ['package-installs.yaml', 'package-installs.json']) {
    const text = await readText(path.join(dir, file));
    if (text === null) continue;
    const parsed = parsePackageInstalls(text);
    if (!parsed.ok) return malformed(file, parsed.message, parsed.line);
    packages = parsed.packages;
    packagesFile = path.join(dir, file);
    break;
  }

  // DIB's bootloader: its hook is replaced (dib-bootloader.ts), the packages it installs are not.
  if (isDibBootloader(name, hooks)) packages = [...packages, ...dibBootloaderPackages(0)];

  let pkgMap: Record<string, unknown> | null = null;
  const pkgMapText = await readText(path.join(dir, 'pkg-map'));
  if (pkgMapText !== null) {
    try {
      const parsed: unknown = JSON.parse(pkgMapText);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return malformed('pkg-map', 'must be a JSON object');
      pkgMap = parsed as Record<string, unknown>;
    } catch (e) {
      return malformed('pkg-map', `not valid JSON: ${(e as Error).message}`);
    }
  }

  const layoutRef = (await readText(path.join(dir, 'block-device-layout')))?.replace(/#.*$/gm, '').trim() ?? null;
  if (layoutRef === '') return malformed('block-device-layout', 'names no layout (write a built-in name such as "efi", or a file path relative to the element)');
  const dibConfigs = await dibBlockDeviceConfigs(dir);
  const blockDevice = layoutRef === null ? (dibConfigs.default ?? null) : /^[a-z0-9-]+$/.test(layoutRef) ? layoutRef : path.resolve(dir, layoutRef);
  const blockDeviceByArch = Object.fromEntries(Object.entries(dibConfigs).filter(([arch]) => arch !== 'default'));

  const volatilePaths: string[] = [];
  const volatileText = await readText(path.join(dir, 'volatile-paths'));
  for (const [i, raw] of (volatileText ?? '').split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const problem = volatilePathProblem(line);
    if (problem) return malformed('volatile-paths', `"${line}": ${problem}`, i + 1);
    volatilePaths.push(line.replace(/^\/+/, ''));
  }

  const readme = await readText(path.join(dir, 'README.md'));
  return ok({
    name,
    dir,
    origin,
    overrides: [],
    description: readme ? firstParagraph(readme) : '',
    deps: deps.names,
    provides: provides.names,
    hooks,
    installTypes,
    environmentD,
    packages,
    packagesFile,
    pkgMap,
    blockDevice,
    ...(Object.keys(blockDeviceByArch).length > 0 ? { blockDeviceByArch } : {}),
    volatilePaths,
    hasBin: await isDir(path.join(dir, 'bin')),
    hasStatic: await isDir(path.join(dir, 'static')),
    warnings,
  });
}

/** DIB's block-device configs in an element: `block-device-<arch|default>.yaml`, by that middle part. */
async function dibBlockDeviceConfigs(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const f of await listFiles(dir)) {
    const m = /^block-device-([A-Za-z0-9_]+)\.yaml$/.exec(f);
    if (m) found[m[1]!] = path.join(dir, f);
  }
  return found;
}

/** `bash -n`'s complaint about `file`, or null when it parses. */
async function shellSyntaxError(file: string): Promise<{ message: string; line?: number } | null> {
  const r = unwrap(await run('bash', ['-n', file], { check: false }));
  if (r.exitCode === 0) return null;
  // bash -n says `<file>: line N: <what>`; keep the what, and the first line's number.
  const first = r.stderr.split('\n').find((l) => l.trim() !== '') ?? 'bash -n failed';
  const m = /: line (\d+): (.*)$/.exec(first);
  return m ? { message: m[2]!.replace(/^syntax error:? ?/, ''), line: Number(m[1]) } : { message: first };
}

type NamesResult = { ok: true; names: NamedLine[] } | { ok: false; line?: number; message: string };

async function readNames(dir: string, file: string): Promise<NamesResult> {
  let text: string | null;
  try {
    text = await readText(path.join(dir, file));
  } catch (e) {
    return { ok: false, message: `unreadable: ${(e as Error).message}` };
  }
  if (text === null) return { ok: true, names: [] };
  return parseNameList(text);
}

type HooksResult = { ok: true; hooks: Hook[]; subdirs: string[] } | { ok: false; message: string };

/**
 * The hooks in `<dir>/<rel>` (a phase directory, or an install-type directory
 * in install.d) that dib-run-parts would run, in run order, and the names of
 * its sub-directories (which it never runs). What it would skip silently is
 * a warning.
 */
async function readHooks(element: string, dir: string, phase: PhaseName, rel: string, warnings: ElementWarning[]): Promise<HooksResult> {
  const hooksDir = path.join(dir, rel);
  let entries;
  try {
    entries = await readdir(hooksDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, hooks: [], subdirs: [] };
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return { ok: false, message: `${rel} must be a directory` };
    throw e;
  }
  const hooks: Hook[] = [];
  const subdirs: string[] = [];
  for (const entry of entries) {
    const file = printableName(path.join(rel, entry.name));
    if (entry.name.includes('\ufffd')) {
      warnings.push({ element, file, message: 'will not run: its name is not valid UTF-8 (diskimage-builder only runs names made of letters, digits, "_" and "-")' });
      continue;
    }
    const full = path.join(hooksDir, entry.name);
    const st = await stat(full).catch(() => null);
    if (!st) continue;
    if (st.isDirectory()) {
      subdirs.push(entry.name);
      continue;
    }
    if (!isRunnableHookName(entry.name)) {
      warnings.push({ element, file, message: `will not run: diskimage-builder only runs hook names made of letters, digits, "_" and "-" (rename it, e.g. drop the extension)` });
      continue;
    }
    if ((st.mode & 0o111) === 0) {
      warnings.push({ element, file, message: 'will not run: it is not executable (chmod +x it)' });
      continue;
    }
    hooks.push({ phase, name: entry.name, path: full });
  }
  hooks.sort((a, b) => compareHookNames(a.name, b.name));
  subdirs.sort();
  return { ok: true, hooks, subdirs };
}

/**
 * install.d's `<prefix>-<type>-install/` directories and their hooks. DIB's
 * install-types links every entry of the chosen one into install.d
 * (`ln -sf <dir>/* .`); dib-run-parts then runs the links as it runs any
 * hook, so the same names run and the same ones are warned about. Other
 * sub-directories are data, as in DIB.
 */
async function readInstallTypes(element: string, dir: string, subdirs: string[], warnings: ElementWarning[]): Promise<InstallTypeDir[]> {
  const out: InstallTypeDir[] = [];
  for (const sub of subdirs) {
    const parsed = parseInstallTypeDir(sub);
    if (!parsed) continue;
    const found = await readHooks(element, dir, 'install.d', path.join('install.d', sub), warnings);
    if (found.ok) out.push({ dir: sub, ...parsed, hooks: found.hooks });
  }
  return out;
}

/** A file name as it can be shown on one line: quoted and escaped when it holds control characters or invalid UTF-8. */
export function printableName(name: string): string {
  return /[\u0000-\u001f\u007f\ufffd]/.test(name) ? JSON.stringify(name).replace(/\ufffd/g, '\\ufffd') : name;
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => !e.isDirectory()).map((e) => e.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}
