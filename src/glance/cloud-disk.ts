// The file each cloud gets: the manifest's output in the disk format the
// cloud wants (clouds.yaml `image_format`), or a conversion of one with
// qemu-img. A conversion is made once per format per publish, checked to hold
// the same guest-visible bytes as the verified output it came from (`qemu-img
// compare`), and hashed: those hashes are what Glance must report back, and
// what the image signature covers.
//
//   <work>/imgfactory-publish-XXXX/<image>.<ext>   removed when publish ends
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { convertBetween, sameContent } from '../image/qemu-img.js';
import type { GlanceProperties, Manifest, ManifestOutput } from '../manifest/manifest.js';
import { IMAGE_FORMATS, formatOf, isImageFormat, type ImageFormat } from '../output/formats.js';
import { hashFile } from '../util/hash-file.js';

/** A file to upload and the hashes Glance must report for it. */
export interface CloudDisk {
  /** The manifest's format id (qcow2, raw, vpc). */
  format: ImageFormat;
  file: string;
  size: number;
  md5: string;
  sha512: string;
  sha256: string;
  /** The manifest output it is, or was converted from. */
  from: string;
  converted: boolean;
  /** The Glance properties to create it with (the source's, with this format's disk_format). */
  glance: GlanceProperties;
}

/** The manifest format id for a Glance disk_format (`vhd` is our `vpc`), or null. */
export function formatForDiskFormat(diskFormat: string): ImageFormat | null {
  return IMAGE_FORMATS.find((f) => formatOf(f).glance?.diskFormat === diskFormat) ?? null;
}

/** The Glance disk formats a cloud may ask for, for messages. */
export const DISK_FORMATS = IMAGE_FORMATS.map((f) => formatOf(f).glance!.diskFormat);

export class CloudDisks {
  private readonly made = new Map<ImageFormat, Promise<Result<CloudDisk>>>();
  private work: string | null = null;

  constructor(
    private readonly manifestFile: string,
    private readonly manifest: Manifest,
    private readonly workParent = tmpdir(),
  ) {}

  /** The disk in `format`: the output itself when the manifest has it, else a conversion (made once). */
  get(format: ImageFormat): Promise<Result<CloudDisk>> {
    let p = this.made.get(format);
    if (!p) {
      p = this.make(format);
      this.made.set(format, p);
    }
    return p;
  }

  /** Removes the conversions. */
  async dispose(): Promise<void> {
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }

  private async make(format: ImageFormat): Promise<Result<CloudDisk>> {
    const disks = this.manifest.outputs.filter((o) => isImageFormat(o.format) && this.manifest.glance[o.format]);
    const own = disks.find((o) => o.format === format);
    if (own) return ok(this.describe(own, path.join(path.dirname(this.manifestFile), own.name), format, own, false));
    // raw converts fastest and exactly; else the first disk the manifest has.
    const source = disks.find((o) => o.format === 'raw') ?? disks[0];
    if (!source) return fail({ reason: 'usage', message: `the manifest has no disk output to convert to ${format}`, hint: 'build with -t qcow2 or -t raw' });
    const srcFile = path.join(path.dirname(this.manifestFile), source.name);
    this.work ??= await mkdtemp(path.join(this.workParent, 'imgfactory-publish-'));
    const out = path.join(this.work, `${this.manifest.image}.${formatOf(format).extension}`);
    const conv = await convertBetween(srcFile, source.format as ImageFormat, out, format);
    if (!conv.ok) return conv;
    const same = await sameContent(srcFile, source.format as ImageFormat, out, format);
    if (!same.ok) return same;
    if (!same.value) return fail({ reason: 'verify-failed', manifest: this.manifestFile, problems: [`the ${format} conversion of ${source.name} does not hold the same disk contents (qemu-img compare)`] });
    let h;
    try {
      h = await hashFile(out);
    } catch (e) {
      return fail({ reason: 'io', what: `hashing ${out}`, message: (e as Error).message });
    }
    return ok(this.describe({ size: h.size, md5: h.md5, sha512: h.sha512, sha256: h.sha256 }, out, format, source, true));
  }

  private describe(h: Pick<ManifestOutput, 'size' | 'md5' | 'sha512' | 'sha256'>, file: string, format: ImageFormat, source: ManifestOutput, converted: boolean): CloudDisk {
    const row = formatOf(format).glance!;
    const glance: GlanceProperties = { ...this.manifest.glance[source.format]!, disk_format: row.diskFormat, container_format: row.containerFormat };
    return { format, file, size: h.size, md5: h.md5, sha512: h.sha512, sha256: h.sha256, from: source.name, converted, glance };
  }
}
