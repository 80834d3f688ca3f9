// What `imgfactory boot` does: boot an image as a node that configures
// itself from the metadata it is handed, as Heat hands it to a TripleO node,
// with the node's ports on the host's loopback; run until the time is up,
// qemu ends, the console shows --expect, or imgfactory is interrupted.
//
//   --metadata file.json ──► config drive (config-drive.ts): read by
//          │                 os-collect-config's ec2 collector at first boot
//          └──────────────► metadata service (metadata-service.ts) on
//                            127.0.0.1, polled by the request collector:
//                            edit the file and the running node applies it
//
// The image is booted with -snapshot (qemu-boot.ts): nothing the node does
// reaches the image file. With `diskGiB` the node's disk is larger than the
// image, as a flavor's root disk is (a qcow2 overlay over the image in the
// scratch directory): a golden image's root filesystem is sized to its tree,
// and cloud-init grows it into the disk at first boot (a controller's root
// had about 300 MB free for its databases). Metadata (passwords) lives only
// in a scratch directory of mode 0700 that is removed at the end, and is
// never logged.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { imageInfo, overlayImage } from '../image/qemu-img.js';
import { bootFailed, findBootTarget, parseExpect, targetBootOptions, type BootTarget, type BootTools } from './boot-target.js';
import { makeConfigDrive } from './config-drive.js';
import type { BootFirmware } from './firmware.js';
import { readMetadata, serveMetadata, nodeMetadata, type MetadataService } from './metadata-service.js';
import { bootImage, type BootOutcome, type PortForward } from './qemu-boot.js';

export interface NodeBootOptions extends BootTools {
  /** A `<image>.manifest.json`, or a disk image file. */
  target: string;
  firmware?: BootFirmware;
  format?: string;
  /** The node's metadata file (a JSON object); none: the node boots with no metadata and no network service. */
  metadata?: string;
  forwards: PortForward[];
  memoryMiB: number;
  cpus: number;
  /** A regex the console must show; none: run until the time is up, qemu ends or an interruption. */
  expect?: string;
  /** Seconds; Infinity: no limit. */
  timeoutSeconds: number;
  /** The node's name (cloud-init sets it from the config drive). */
  hostname: string;
  /** The node's disk in GiB (at least the image's size); unset or 0: the image's own size. */
  diskGiB?: number;
  onConsole?: (text: string) => void;
  /** Called once the node's qemu is about to start. */
  onStarting?: (s: NodeStarting) => void;
}

export interface NodeStarting {
  image: string;
  firmware: BootFirmware;
  /** Where the metadata is served on the host, and the URL the node polls. */
  metadata: { file: string; hostUrl: string; guestUrl: string } | null;
}

export interface NodeBootReport {
  image: string;
  firmware: BootFirmware;
  outcome: BootOutcome;
}

export async function bootNode(o: NodeBootOptions): Promise<Result<NodeBootReport>> {
  const parsed = parseExpect(o.expect);
  if (!parsed.ok) return parsed;
  const expect = parsed.value ?? null;
  const target = await findBootTarget(o);
  if (!target.ok) return target;
  const metadata = o.metadata === undefined ? null : await readMetadata(o.metadata);
  if (metadata && !metadata.ok) return metadata;
  const work = await mkdtemp(path.join(os.tmpdir(), 'imgfactory-boot-'));
  let service: MetadataService | null = null;
  try {
    let drive: string | undefined;
    if (o.metadata !== undefined && metadata?.ok) {
      service = await serveMetadata(o.metadata, o.onLog);
      const made = await makeConfigDrive({ instanceId: randomUUID(), hostname: o.hostname, metadata: nodeMetadata(metadata.value, service.guestUrl) }, work, o.onLog);
      if (!made.ok) return made;
      drive = made.value;
    }
    o.onStarting?.({
      image: target.value.image,
      firmware: target.value.firmware,
      metadata: service && o.metadata !== undefined ? { file: o.metadata, hostUrl: `http://127.0.0.1:${service.port}/metadata.json`, guestUrl: service.guestUrl } : null,
    });
    return await boot(o, target.value, expect, work, drive);
  } finally {
    await service?.close();
    await rm(work, { recursive: true, force: true });
  }
}

async function boot(o: NodeBootOptions, t: BootTarget, expect: RegExp | null, work: string, drive: string | undefined): Promise<Result<NodeBootReport>> {
  const disk = o.diskGiB ? await nodeDisk(t, o.diskGiB, work) : ok({ image: t.image, format: t.qemuFormat });
  if (!disk.ok) return disk;
  const booted = await bootImage({
    ...targetBootOptions(t, o, o.timeoutSeconds, work),
    ...disk.value,
    expect,
    network: { forwards: o.forwards },
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    ...(drive ? { seedImage: drive } : {}),
    ...(o.onConsole ? { onConsole: o.onConsole } : {}),
  });
  if (!booted.ok) return booted;
  const outcome = booted.value;
  // Without --expect the time running out is the end asked for; qemu ending is not.
  const passed = expect ? outcome.passed : outcome.ended === 'timeout';
  if (!passed) return fail(bootFailed(t, outcome, o.timeoutSeconds, expect ? `/${o.expect}/` : 'qemu to keep running'));
  return ok({ image: t.image, firmware: t.firmware, outcome });
}

/** A qcow2 overlay over the image, of `gib` GiB or the image's own size if that is larger: the node's disk. */
async function nodeDisk(t: BootTarget, gib: number, work: string): Promise<Result<{ image: string; format: string }>> {
  const info = await imageInfo(t.image);
  if (!info.ok) return info;
  const overlay = path.join(work, 'node-disk.qcow2');
  const bytes = Math.max(gib * 2 ** 30, info.value.virtualSize);
  const made = await overlayImage(path.resolve(t.image), t.qemuFormat, overlay, bytes);
  return made.ok ? ok({ image: overlay, format: 'qcow2' }) : made;
}
