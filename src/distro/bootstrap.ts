// Makes a distribution's base root tree with mmdebstrap: the first layer of
// every build. The result depends only on the distro description (mirror,
// suite, components, variant, extra packages), SOURCE_DATE_EPOCH and the
// archive's contents at the time; host files mmdebstrap would copy in
// (resolv.conf, hostname) are removed so the tree is the same on every host.
// policy-rc.d is installed here so no package starts a service while the
// image is built; imgfactory's finalise step removes it again.
import { access } from 'node:fs/promises';
import { FailureError } from '../failure.js';
import { runLogged } from '../process/run.js';
import type { Distro } from './distro.js';
import { aptSources } from './sources.js';

export const POLICY_RC_D = '#!/bin/sh\n# Installed by imgfactory while the image is built: no service starts.\nexit 101\n';

export interface BootstrapOptions {
  distro: Distro;
  target: string;
  logFile: string;
  sourceDateEpoch: number | null;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export function mmdebstrapArgs(d: Distro, target: string): string[] {
  const args = [
    `--variant=${d.bootstrap.variant}`,
    '--mode=root',
    '--format=directory',
    `--arch=${d.arch}`,
    `--components=${d.components.join(',')}`,
    '--aptopt=APT::Install-Recommends "false"',
    `--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"`,
    `--customize-hook=printf '%s' '${POLICY_RC_D.replace(/'/g, `'\\''`)}' > "$1/usr/sbin/policy-rc.d" && chmod 755 "$1/usr/sbin/policy-rc.d"`,
  ];
  if (d.packages.length > 0) args.push(`--include=${d.packages.join(',')}`);
  args.push(d.release, target, ...aptSources(d));
  return args;
}

export async function bootstrap(o: BootstrapOptions): Promise<void> {
  try {
    await access(o.distro.keyring);
  } catch {
    throw new FailureError({ reason: 'host-missing', what: `the archive keyring ${o.distro.keyring}`, hint: 'run scripts/setup (it installs debian-archive-keyring)' });
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  if (o.sourceDateEpoch !== null) env.SOURCE_DATE_EPOCH = String(o.sourceDateEpoch);
  const done = await runLogged('mmdebstrap', mmdebstrapArgs(o.distro, o.target), {
    env,
    extendEnv: false,
    logFile: o.logFile,
    ...(o.onLine ? { onLine: o.onLine } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (done.ok) return;
  if (done.error.reason !== 'tool-failed') throw new FailureError(done.error); // interrupted
  throw new FailureError({
    reason: 'bootstrap-failed',
    distro: o.distro.name,
    exitCode: done.error.exitCode,
    logTail: done.error.stderrTail,
    logPath: o.logFile,
  });
}
