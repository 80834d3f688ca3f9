// The effective archive settings of a build: the distro description, then the
// variables diskimage-builder users already set (DIB_RELEASE,
// DIB_DISTRIBUTION_MIRROR, DIB_DEBIAN_SECURITY_MIRROR), then CLI flags; a
// snapshot (`--snapshot`) replaces both mirrors with a snapshot archive's:
//
//   <snapshot base>/archive/debian/<timestamp>/            the release and -updates
//   <snapshot base>/archive/debian-security/<timestamp>/   the security suite
import { FailureError } from '../failure.js';
import type { Distro, ExtraSource } from './distro.js';

export interface SourceOverrides {
  release?: string;
  mirror?: string;
  securityMirror?: string;
  /** More archives to install from (`--apt-source`), after the distro's own. */
  extraSources?: ExtraSource[];
  /** Pin both mirrors to this snapshot (snapshotOverride). */
  snapshot?: { base: string; timestamp: string };
}

/** snapshot.debian.org, whose layout other snapshot mirrors copy. */
export const SNAPSHOT_BASE = 'http://snapshot.debian.org';

/** A snapshot timestamp as snapshot.debian.org writes them: 20230610T085347Z. */
const SNAPSHOT_TIMESTAMP = /^\d{8}T\d{6}Z$/;

/** The override for `--snapshot <timestamp>` on the snapshot archive at `base`; a usage failure for a malformed timestamp. */
export function snapshotOverride(timestamp: string, base = SNAPSHOT_BASE): SourceOverrides {
  if (!SNAPSHOT_TIMESTAMP.test(timestamp)) {
    throw new FailureError({ reason: 'usage', message: `--snapshot "${timestamp}" is not a snapshot timestamp`, hint: 'write it as snapshot.debian.org does, in UTC: 20230610T085347Z' });
  }
  return { snapshot: { base: base.replace(/\/+$/, ''), timestamp } };
}

export function overridesFromEnv(env: NodeJS.ProcessEnv): SourceOverrides {
  const o: SourceOverrides = {};
  if (env.DIB_RELEASE) o.release = env.DIB_RELEASE;
  if (env.DIB_DISTRIBUTION_MIRROR) o.mirror = env.DIB_DISTRIBUTION_MIRROR;
  if (env.DIB_DEBIAN_SECURITY_MIRROR) o.securityMirror = env.DIB_DEBIAN_SECURITY_MIRROR;
  return o;
}

/** The distro with overrides applied; later arguments win. */
export function applyOverrides(distro: Distro, ...layers: SourceOverrides[]): Distro {
  let d = { ...distro, security: distro.security ? { ...distro.security } : null };
  for (const o of layers) {
    if (o.release && o.release !== d.release) {
      d = { ...d, release: o.release, security: d.security ? { ...d.security, suite: `${o.release}-security` } : null };
    }
    if (o.mirror) d = { ...d, mirror: o.mirror };
    if (o.extraSources) d = { ...d, extraSources: [...d.extraSources, ...o.extraSources] };
    if (o.securityMirror && d.security) d = { ...d, security: { ...d.security, mirror: o.securityMirror } };
    if (o.snapshot) {
      const { base, timestamp } = o.snapshot;
      d = { ...d, mirror: `${base}/archive/debian/${timestamp}/`, snapshot: timestamp, security: d.security ? { ...d.security, mirror: `${base}/archive/debian-security/${timestamp}/` } : null };
    }
  }
  return d;
}

/** One suite a build installs from, and the mirror it comes from. */
export interface ArchiveSuite {
  suite: string;
  mirror: string;
}

/** The suites a build installs from, in the order apt should see them: the release, its -updates, its security suite, the extra sources. */
export function archiveSuites(d: Distro): ArchiveSuite[] {
  return sourcesOf(d).map(({ suite, mirror }) => ({ suite, mirror }));
}

/** One-line apt sources, in the order apt should see them. */
export function aptSources(d: Distro): string[] {
  return sourcesOf(d).map((s) => `deb ${s.options ? `[${s.options}] ` : ''}${s.mirror} ${s.suite} ${s.components.join(' ')}`);
}

function sourcesOf(d: Distro): ExtraSource[] {
  const debian = (suite: string, mirror: string): ExtraSource => ({ suite, mirror, components: d.components, options: null });
  const out = [debian(d.release, d.mirror)];
  if (d.updates) out.push(debian(`${d.release}-updates`, d.mirror));
  if (d.security) out.push(debian(d.security.suite, d.security.mirror));
  return [...out, ...d.extraSources];
}

/**
 * An extra archive from its one-line apt source, `deb` optional:
 * `[trusted=yes] http://127.0.0.1:8080/repo local main`. The suite must be a
 * `dists/<suite>` directory (a flat repository has no release file where the
 * archive state is read), the mirror an http(s) URL.
 */
export function parseAptSource(line: string): ExtraSource | { problem: string } {
  const m = /^\s*(?:deb\s+)?(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)\s*$/.exec(line);
  if (!m) return { problem: 'write it as "[options] URL SUITE COMPONENT..." (one apt source line without "deb")' };
  const [, options, mirror, suite, rest] = m;
  const components = rest!.trim().split(/\s+/).filter(Boolean);
  if (!/^https?:\/\//.test(mirror!)) return { problem: `"${mirror}" is not an http or https URL` };
  if (suite!.includes('/')) return { problem: `"${suite}" is a flat repository's path; only dists/<suite> archives can be keyed by their release file` };
  if (components.length === 0) return { problem: 'it names no component (e.g. main)' };
  return { mirror: mirror!, suite: suite!, components, options: options?.trim() || null };
}
