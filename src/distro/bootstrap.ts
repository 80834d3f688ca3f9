// Makes a distribution's base root tree with mmdebstrap: the first layer of
// every build. The result depends only on the distro description (mirror,
// suite, components, variant, extra packages), SOURCE_DATE_EPOCH and the
// archive's contents at the time; host files mmdebstrap would copy in
// (resolv.conf, hostname) are removed so the tree is the same on every host.
// policy-rc.d is installed here so no package starts a service while the
// image is built; imgfactory's finalise step removes it again.
//
// mmdebstrap runs in the build's sandbox as a step with no tree (sandbox/
// step.ts): the /proc, /sys and /dev/pts it mounts in the new tree, and the
// apt and dpkg it starts, live in namespaces of their own (the container
// sandbox) or a process group tied to imgfactory (chroot), so they are gone
// when it ends, is interrupted, or imgfactory is killed outright.
import { access } from 'node:fs/promises';
import { FailureError } from '../failure.js';
import { throwIfInterrupted } from '../process/interrupt.js';
import { pauseCommand } from '../process/test-pause.js';
import { requireTool } from '../sandbox/host-tools.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { tailLines } from '../util/tail.js';
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
  /** Runs mmdebstrap (as a step with no tree). */
  sandbox: Sandbox;
}

/** Lines of the log a failure carries. */
const TAIL_LINES = 15;

export function mmdebstrapArgs(d: Distro, target: string): string[] {
  const args = [
    `--variant=${d.bootstrap.variant}`,
    '--mode=root',
    '--format=directory',
    `--arch=${d.arch}`,
    `--components=${d.components.join(',')}`,
    '--aptopt=APT::Install-Recommends "false"',
    // The lists stay in the tree (imgfactory's finalise step removes them): the package steps install from the
    // state the base tree was keyed with and fetched, not whatever the archive serves when they run, and the
    // release files apt fetched are checked against that state (engine/archive-check.ts).
    '--skip=cleanup/apt/lists',
    `--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"`,
    `--customize-hook=printf '%s' '${POLICY_RC_D.replace(/'/g, `'\\''`)}' > "$1/usr/sbin/policy-rc.d" && chmod 755 "$1/usr/sbin/policy-rc.d"`,
  ];
  // A snapshot's Release files are past their Valid-Until: apt (here and in the package steps, which keep this setting) must not refuse them.
  if (d.snapshot) args.push('--aptopt=Acquire::Check-Valid-Until "false"');
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
  const mmdebstrap = await requireTool('mmdebstrap', 'mmdebstrap');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };
  if (o.sourceDateEpoch !== null) env.SOURCE_DATE_EPOCH = String(o.sourceDateEpoch);
  // Not part of the key (steps/base.ts keys mmdebstrapArgs): only the fault tests pause here.
  const pause = pauseCommand('bootstrap');
  const outcome = await o.sandbox.run({
    tree: 'none',
    mergedDir: o.target,
    inside: false,
    argv: [mmdebstrap, ...mmdebstrapArgs(o.distro, o.target), ...(pause === null ? [] : [`--extract-hook=${pause.command}`])],
    env,
    binds: [],
    resolver: false,
    ...(pause === null ? {} : { hostWritable: [pause.writes] }),
    logFile: o.logFile,
    ...(o.onLine ? { onLine: (_stream: string, line: string) => o.onLine?.(line) } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  throwIfInterrupted(o.signal);
  if (outcome.exitCode === 0) return;
  throw new FailureError({
    reason: 'bootstrap-failed',
    distro: o.distro.name,
    exitCode: outcome.exitCode,
    logTail: await tailLines(o.logFile, TAIL_LINES),
    logPath: o.logFile,
  });
}
