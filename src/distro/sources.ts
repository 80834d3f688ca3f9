// The effective archive settings of a build: the distro description, then the
// variables diskimage-builder users already set (DIB_RELEASE,
// DIB_DISTRIBUTION_MIRROR, DIB_DEBIAN_SECURITY_MIRROR), then CLI flags; a
// snapshot (`--snapshot`) replaces both mirrors with a snapshot archive's:
//
//   <snapshot base>/archive/debian/<timestamp>/            the release and -updates
//   <snapshot base>/archive/debian-security/<timestamp>/   the security suite
import { FailureError } from '../failure.js';
import type { Distro } from './distro.js';

export interface SourceOverrides {
  release?: string;
  mirror?: string;
  securityMirror?: string;
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

/** The suites a build installs from, in the order apt should see them: the release, its -updates, its security suite. */
export function archiveSuites(d: Distro): ArchiveSuite[] {
  const suites = [{ suite: d.release, mirror: d.mirror }];
  if (d.updates) suites.push({ suite: `${d.release}-updates`, mirror: d.mirror });
  if (d.security) suites.push({ suite: d.security.suite, mirror: d.security.mirror });
  return suites;
}

/** One-line apt sources, in the order apt should see them. */
export function aptSources(d: Distro): string[] {
  const comps = d.components.join(' ');
  return archiveSuites(d).map((s) => `deb ${s.mirror} ${s.suite} ${comps}`);
}
