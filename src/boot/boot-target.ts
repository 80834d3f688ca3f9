// What a boot boots: a manifest's disk output, checked against its hashes
// first (what is booted is what the manifest names), or a bare image file
// whose format its extension gives (the output formats' table). Shared by
// `imgfactory test` (test-image.ts) and `imgfactory boot` (boot-node.ts).
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Failure, type Result } from '../failure.js';
import type { ManifestOutput } from '../manifest/manifest.js';
import { manifestDigest } from '../manifest/test-addendum.js';
import { manifestBytes } from '../manifest/canonical.js';
import { verifyManifest } from '../manifest/verify.js';
import { formatById, OUTPUT_FORMATS } from '../output/formats.js';
import type { LogFn } from '../process/run.js';
import { firmwareFor, type BootFirmware } from './firmware.js';
import type { Accel, BootOptions, BootOutcome } from './qemu-boot.js';

export interface BootTarget {
  image: string;
  /** qemu's name of the image's format. */
  qemuFormat: string;
  firmware: BootFirmware;
  /** The manifest the image came from (manifest targets only). */
  manifest: { file: string; sha256: string; output: ManifestOutput } | null;
}

export interface TargetChoice {
  /** A `<image>.manifest.json`, or a disk image file. */
  target: string;
  /** Default: from the manifest's layout; BIOS for a bare image. */
  firmware?: BootFirmware;
  /** Which of the manifest's outputs (default qcow2, else the first disk output). */
  format?: string;
}

export async function findBootTarget(o: TargetChoice): Promise<Result<BootTarget>> {
  return o.target.endsWith('.json') ? manifestTarget(o) : imageTarget(o);
}

async function manifestTarget(o: TargetChoice): Promise<Result<BootTarget>> {
  const verified = await verifyManifest(o.target);
  if (!verified.ok) return verified;
  const { manifest } = verified.value;
  const disks = manifest.outputs.filter((out) => formatById(out.format)?.qemu);
  const output = o.format ? disks.find((d) => d.format === o.format) : (disks.find((d) => d.format === 'qcow2') ?? disks[0]);
  if (!output) {
    const have = manifest.outputs.map((out) => out.format).join(', ') || 'none';
    return fail({ reason: 'usage', message: `${o.target} has no ${o.format ?? 'disk'} output to boot (it has: ${have})`, hint: 'build with -t qcow2 or -t raw' });
  }
  return ok({
    image: path.join(path.dirname(o.target), output.name),
    qemuFormat: formatById(output.format)!.qemu!.format,
    firmware: o.firmware ?? firmwareFor(manifest.layout?.firmware ?? null),
    manifest: { file: o.target, sha256: manifestDigest(manifestBytes(manifest)), output },
  });
}

async function imageTarget(o: TargetChoice): Promise<Result<BootTarget>> {
  try {
    await access(o.target);
  } catch (e) {
    return fail({ reason: 'usage', message: `${o.target}: ${(e as Error).message}` });
  }
  const ext = path.extname(o.target).slice(1);
  const row = OUTPUT_FORMATS.find((f) => f.extension === ext && f.qemu);
  if (!row?.qemu) {
    const known = OUTPUT_FORMATS.filter((f) => f.qemu).map((f) => `.${f.extension}`).join(', ');
    return fail({ reason: 'usage', message: `${o.target}: not a manifest (.json) or a disk image (${known})` });
  }
  return ok({ image: o.target, qemuFormat: row.qemu.format, firmware: o.firmware ?? 'bios', manifest: null });
}

/** `--expect`, compiled (multi-line); undefined when not given. A bad pattern is a usage failure naming it. */
export function parseExpect(expect: string | undefined): Result<RegExp | undefined> {
  try {
    return ok(expect === undefined ? undefined : new RegExp(expect, 'm'));
  } catch (e) {
    return fail({ reason: 'usage', message: `--expect ${expect}: ${(e as Error).message}` });
  }
}

/** The qemu, firmware and acceleration a command was asked to boot with. */
export interface BootTools {
  qemu?: string;
  firmwareDir?: string;
  accel?: Accel;
  onLog?: LogFn;
}

/** The part of qemu-boot's options every boot of `t` shares: the disk, its firmware, the tools and the scratch directory. */
export function targetBootOptions(t: BootTarget, tools: BootTools, timeoutSeconds: number, workDir: string): BootOptions {
  return {
    image: t.image,
    format: t.qemuFormat,
    firmware: t.firmware,
    timeoutSeconds,
    ...(tools.qemu ? { qemu: tools.qemu } : {}),
    ...(tools.firmwareDir ? { firmwareDir: tools.firmwareDir } : {}),
    ...(tools.accel ? { accel: tools.accel } : {}),
    workDir,
    ...(tools.onLog ? { onLog: tools.onLog } : {}),
  };
}

/** The failure of a boot of `t` that did not end as asked (`expected` says what was asked). */
export function bootFailed(t: BootTarget, outcome: BootOutcome, timeoutSeconds: number, expected: string): Failure {
  return {
    reason: 'boot-failed',
    image: t.image,
    firmware: t.firmware,
    accel: outcome.accel,
    seconds: outcome.seconds,
    timeoutSeconds,
    ended: outcome.ended === 'shown' ? 'timeout' : outcome.ended,
    expected,
    consoleTail: outcome.consoleTail,
  };
}
