// The effective archive settings of a build: the distro description, then the
// variables diskimage-builder users already set (DIB_RELEASE,
// DIB_DISTRIBUTION_MIRROR, DIB_DEBIAN_SECURITY_MIRROR), then CLI flags.
import type { Distro } from './distro.js';

export interface SourceOverrides {
  release?: string;
  mirror?: string;
  securityMirror?: string;
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
