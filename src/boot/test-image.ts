// What `imgfactory test` does: find the image (boot-target.ts), boot it with the
// firmware its layout needs (qemu-boot.ts), and for a manifest record the
// result in the signed test addendum beside it (manifest/test-addendum.ts).
// A failed boot is recorded too, then returned as 'boot-failed'.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { writeTestAddendum, type TestAddendum } from '../manifest/test-addendum.js';
import { bootFailed, findBootTarget, parseExpect, targetBootOptions, type BootTarget, type BootTools } from './boot-target.js';
import type { BootFirmware } from './firmware.js';
import { bootImage, qemuVersion, type BootOutcome } from './qemu-boot.js';
import { makeNoCloudSeed } from './seed-drive.js';

export interface TestOptions extends BootTools {
  /** A `<image>.manifest.json`, or a disk image file. */
  target: string;
  /** Default: from the manifest's layout; BIOS for a bare image. */
  firmware?: BootFirmware;
  timeoutSeconds: number;
  /** A regex the console must show instead of the login prompt. */
  expect?: string;
  userData?: string;
  /** Which of the manifest's outputs to boot (default qcow2, else the first disk output). */
  format?: string;
  /** Signs the addendum (a key spec); null leaves it unsigned. */
  signKey: string | null;
}

export interface TestReport {
  image: string;
  firmware: BootFirmware;
  outcome: BootOutcome;
  qemu: string;
  /** The addendum written (manifest targets only). */
  addendum: { file: string; signature: string | null } | null;
}

export async function testImage(o: TestOptions): Promise<Result<TestReport>> {
  const parsed = parseExpect(o.expect);
  if (!parsed.ok) return parsed;
  const expect = parsed.value;
  const target = await findBootTarget(o);
  if (!target.ok) return target;
  const t = target.value;
  const version = await qemuVersion(o.qemu);
  if (!version.ok) return version;
  const work = await mkdtemp(path.join(os.tmpdir(), 'imgfactory-test-'));
  try {
    const seed = o.userData ? await makeNoCloudSeed(o.userData, work, o.onLog) : null;
    if (seed && !seed.ok) return seed;
    const booted = await bootImage({
      ...targetBootOptions(t, o, o.timeoutSeconds, work),
      ...(expect ? { expect } : {}),
      ...(seed ? { seedImage: seed.value } : {}),
    });
    if (!booted.ok) return booted;
    const outcome = booted.value;
    const expected = o.expect === undefined ? 'a login prompt' : `/${o.expect}/`;
    const addendum = t.manifest ? await writeTestAddendum(t.manifest.file, addendumOf(t, outcome, o, expected, version.value), o.signKey) : null;
    if (addendum && !addendum.ok) return addendum;
    if (!outcome.passed) return fail(bootFailed(t, outcome, o.timeoutSeconds, expected));
    return ok({ image: t.image, firmware: t.firmware, outcome, qemu: version.value, addendum: addendum ? addendum.value : null });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function addendumOf(t: BootTarget, outcome: BootOutcome, o: TestOptions, expected: string, qemu: string): TestAddendum {
  const m = t.manifest!;
  return {
    v: 'imgfactory.test.v1',
    manifest: { name: path.basename(m.file), sha256: m.sha256 },
    image: { name: m.output.name, format: m.output.format, sha256: m.output.sha256 },
    result: outcome.passed ? 'pass' : 'fail',
    firmware: t.firmware,
    accel: outcome.accel,
    seconds: outcome.seconds,
    timeoutSeconds: o.timeoutSeconds,
    expect: expected,
    qemu,
    userData: o.userData !== undefined,
    finishedAt: new Date().toISOString(),
  };
}
