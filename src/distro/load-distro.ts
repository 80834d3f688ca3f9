// Finds and validates distros/<name>/distro.yaml. Every problem is a
// `bad-distro` failure naming the file and the field.
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse } from 'yaml';
import { fail, ok, type Result } from '../failure.js';
import type { Distro, ExtraSource } from './distro.js';
import { parseAptSource } from './sources.js';

export const BUILTIN_DISTROS = fileURLToPath(new URL('../../distros', import.meta.url));
export const DEFAULT_DISTRO = 'debian-bookworm';

export async function listDistros(dir = BUILTIN_DISTROS): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

export async function loadDistro(name: string, dir = BUILTIN_DISTROS): Promise<Result<Distro>> {
  const file = path.join(dir, name, 'distro.yaml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return fail({ reason: 'bad-distro', distro: name, message: `no distribution "${name}"`, known: await listDistros(dir) });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    return fail({ reason: 'bad-distro', distro: name, file, message: `not valid YAML: ${(e as Error).message.split('\n')[0]}` });
  }
  return validateDistro(name, file, raw);
}

export function validateDistro(name: string, file: string, raw: unknown): Result<Distro> {
  const bad = (message: string): Result<Distro> => fail({ reason: 'bad-distro', distro: name, file, message });
  if (typeof raw !== 'object' || raw === null) return bad('expected a map');
  const r = raw as Record<string, unknown>;
  const str = (key: string): string | null => (typeof r[key] === 'string' && r[key] !== '' ? (r[key] as string) : null);
  const strList = (key: string): string[] | null =>
    Array.isArray(r[key]) && (r[key] as unknown[]).every((v) => typeof v === 'string') ? (r[key] as string[]) : null;

  for (const key of ['release', 'arch', 'mirror', 'keyring']) if (!str(key)) return bad(`"${key}" must be a non-empty string`);
  if (r.family !== 'debian') return bad(`"family" must be "debian" (the only family imgfactory builds today)`);
  const bootstrap = r.bootstrap as Record<string, unknown> | undefined;
  if (!bootstrap || bootstrap.tool !== 'mmdebstrap') return bad('"bootstrap.tool" must be "mmdebstrap"');
  const variant = typeof bootstrap.variant === 'string' ? bootstrap.variant : 'minbase';
  if (!['extract', 'custom', 'essential', 'apt', 'minbase', 'buildd', 'required', 'important', 'standard'].includes(variant)) {
    return bad(`"bootstrap.variant" "${variant}" is not an mmdebstrap variant`);
  }
  const components = strList('components');
  if (!components || components.length === 0) return bad('"components" must be a non-empty list');
  const packages = r.packages === undefined ? [] : strList('packages');
  if (!packages) return bad('"packages" must be a list of package names');
  let security: Distro['security'] = null;
  if (r.security !== undefined && r.security !== null) {
    const s = r.security as Record<string, unknown>;
    if (typeof s.mirror !== 'string' || typeof s.suite !== 'string') return bad('"security" needs "mirror" and "suite"');
    security = { mirror: s.mirror, suite: s.suite };
  }
  const extraSources: ExtraSource[] = [];
  if (r['extra-sources'] !== undefined) {
    const lines = strList('extra-sources');
    if (!lines) return bad('"extra-sources" must be a list of one-line apt sources ("[trusted=yes] http://host/repo suite component")');
    for (const line of lines) {
      const parsed = parseAptSource(line);
      if ('problem' in parsed) return bad(`"extra-sources": "${line}": ${parsed.problem}`);
      extraSources.push(parsed);
    }
  }
  const provides = r.provides === undefined ? ['operating-system'] : strList('provides');
  if (!provides) return bad('"provides" must be a list of names');
  if (!provides.includes('operating-system')) provides.unshift('operating-system');
  if ((r['package-manager'] ?? 'apt') !== 'apt') return bad('"package-manager" must be "apt"');
  if ((r['init-system'] ?? 'systemd') !== 'systemd') return bad('"init-system" must be "systemd"');

  return ok({
    name,
    file,
    description: str('description') ?? name,
    family: 'debian',
    release: str('release')!,
    arch: str('arch')!,
    bootstrap: { tool: 'mmdebstrap', variant },
    mirror: str('mirror')!,
    components,
    updates: r.updates !== false,
    security,
    extraSources,
    keyring: str('keyring')!,
    packages,
    packageManager: 'apt',
    initSystem: 'systemd',
    provides,
  });
}
