// `imgfactory publish`: one verified manifest into one or many clouds.
//
//   verify manifest ─► signing material (signing-material.ts) ─► every cloud's config and format
//     ─► per cloud, at most `parallel` at a time: publish-cloud.ts ─► one report
//
// Everything that can be refused without a cloud (a bad manifest, half the
// signing material, an unknown cloud or format, a bad name pattern) is
// refused before any cloud is touched. After that each cloud is its own
// story: a failure in one leaves the others going, and the report says per
// cloud what happened (and what could not be cleaned up).
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { fail, ok, type Failure, type Result } from '../failure.js';
import { signImageFile, type GlanceHashMethod, type ImageSignature } from '../manifest/image-signature.js';
import { signatureFileName, type Manifest } from '../manifest/manifest.js';
import { verifyManifest } from '../manifest/verify.js';
import { isImageFormat, type ImageFormat } from '../output/formats.js';
import { mapLimit } from '../util/map-limit.js';
import { probeServedOutput, servedUrls } from './image-url.js';
import { CloudDisks, DISK_FORMATS, formatForDiskFormat, type CloudDisk } from './cloud-disk.js';
import { resolveCloud } from './cloud-config.js';
import { publishToCloud, type CloudResult, type CloudTarget, type PublishRun, type Visibility } from './publish-cloud.js';
import { defaultNamePattern, imageName } from './naming.js';
import { loadSigningMaterial } from './signing-material.js';

export type { Visibility } from './publish-cloud.js';

export interface PublishOptions {
  manifest: string;
  /** Which output (by format) for every cloud; default each cloud's image_format, else qcow2 if there is one, else the first disk output. */
  format?: string;
  /** Image name pattern ({image}, {tag}, {format}); default `{image}-{tag}` (`{image}` without a tag). */
  name?: string;
  visibility?: Visibility;
  /** Extra properties, set last (they win over the manifest's). */
  properties?: Record<string, string>;
  /** Private key (path or env:NAME) to make img_signature with. */
  signKey?: string;
  hashMethod?: GlanceHashMethod;
  /** Certificate PEM to store in Barbican; its UUID goes into img_signature_certificate_uuid. */
  certificate?: string;
  /** An already stored certificate secret instead of --certificate. */
  certificateUuid?: string;
  /** Key or certificate that checks the manifest's signature; default the certificate, else the sign key. */
  verifyKey?: string;
  /** One named cloud in clouds.yaml (else OS_CLOUD, else OS_* variables). */
  cloud?: string;
  /** Many named clouds; wins over `cloud`. */
  clouds?: string[];
  /** Keep the newest N images of this image's series per cloud, delete the rest. */
  keep?: number;
  /** Clouds published to at the same time (default 2). */
  parallel?: number;
  /** Where the outputs are already served, for web-download ({name}: an output's file name); clouds that cannot use it get the local file. */
  imageUrl?: string;
  /** Where conversions are made (default the system's temp directory). */
  workDir?: string;
  onProgress?: (cloud: string, sent: number, total: number) => void;
  onLog?: (line: string, cloud?: string) => void;
}

export interface PublishReport {
  ok: boolean;
  manifest: string;
  image: string;
  tag: string;
  manifestSha256: string;
  clouds: CloudResult[];
}

/** The format a cloud gets: --format, else its image_format, else qcow2 if the manifest has it, else its first disk. */
function formatFor(m: Manifest, t: { source: string; imageFormat?: string }, asked?: string): Result<ImageFormat> {
  if (asked) {
    const f = isImageFormat(asked) ? asked : formatForDiskFormat(asked);
    if (f) return ok(f);
    return fail({ reason: 'usage', message: `--format ${asked} is not a disk format Glance takes`, hint: `one of ${DISK_FORMATS.join(', ')}` });
  }
  if (t.imageFormat) {
    const f = formatForDiskFormat(t.imageFormat);
    return f ? ok(f) : fail({ reason: 'cloud-config', message: `${t.source}: image_format "${t.imageFormat}" is not a disk format imgfactory can write`, hint: `one of ${DISK_FORMATS.join(', ')}` });
  }
  const disks = m.outputs.map((o) => o.format).filter((f): f is ImageFormat => isImageFormat(f) && Boolean(m.glance[f]));
  const chosen = disks.includes('qcow2') ? 'qcow2' : disks[0];
  if (chosen) return ok(chosen);
  return fail({ reason: 'usage', message: `the manifest has no disk output to publish (it has: ${m.outputs.map((o) => o.format).join(', ') || 'none'})`, hint: 'build with -t qcow2 or -t raw' });
}

/** Every cloud asked for, resolved, with its format: all or nothing, before any is touched. */
function targets(o: PublishOptions, m: Manifest): Result<CloudTarget[]> {
  const names = o.clouds?.length ? o.clouds : [o.cloud];
  const dup = names.find((n, i) => n !== undefined && names.indexOf(n) !== i);
  if (dup) return fail({ reason: 'usage', message: `cloud "${dup}" is named twice` });
  const out: CloudTarget[] = [];
  for (const name of names) {
    const cloud = resolveCloud(name);
    if (!cloud.ok) return cloud;
    const format = formatFor(m, cloud.value, o.format);
    if (!format.ok) return format;
    out.push({ label: name ?? process.env.OS_CLOUD ?? 'OS_* variables', cloud: cloud.value, format: format.value });
  }
  return ok(out);
}

/**
 * The URL of each output some cloud gets as it is (a converted one is not
 * what is served), each checked to answer with the output's size: before any
 * cloud is touched, an unreachable or wrong URL refuses the publish.
 */
async function checkServed(template: string, m: Manifest, clouds: CloudTarget[]): Promise<Result<Map<string, string>>> {
  const outputs = m.outputs.filter((out) => clouds.some((t) => t.format === out.format));
  const urls = servedUrls(template, outputs);
  if (!urls.ok) return urls;
  for (const out of outputs) {
    const served = await probeServedOutput(urls.value.get(out.name)!, out);
    if (!served.ok) return served;
  }
  return urls;
}

/** A memo of one async result per key. */
function once<K, V>(make: (k: K) => Promise<V>): (k: K) => Promise<V> {
  const made = new Map<K, Promise<V>>();
  return (k) => {
    let p = made.get(k);
    if (!p) made.set(k, (p = make(k)));
    return p;
  };
}

export async function publish(o: PublishOptions): Promise<Result<PublishReport>> {
  const startedAt = new Date().toISOString();
  const log = o.onLog ?? (() => {});
  const sigExists = await access(signatureFileName(o.manifest)).then(() => true, () => false);
  const verifyKey = o.verifyKey ?? (sigExists ? (o.certificate ?? o.signKey) : undefined);
  const material = await loadSigningMaterial(o);
  if (!material.ok) return material;
  const verified = await verifyManifest(o.manifest, verifyKey ? { key: verifyKey } : {});
  if (!verified.ok) return verified;
  const m = verified.value.manifest;
  log(`verified ${o.manifest}${verified.value.signatureChecked ? ' (signature and hashes)' : ' (hashes only: no signature checked)'}`);
  const clouds = targets(o, m);
  if (!clouds.ok) return clouds;
  const pattern = o.name ?? defaultNamePattern(m.tag);
  for (const t of clouds.value) {
    const n = imageName(pattern, { image: m.image, tag: m.tag, format: t.format });
    if (!n.ok) return n;
  }
  if (o.keep !== undefined && (!Number.isInteger(o.keep) || o.keep < 1)) return fail({ reason: 'usage', message: `--keep ${o.keep}: keep at least the image just published (1 or more)` });
  const imageUrls = o.imageUrl === undefined ? null : await checkServed(o.imageUrl, m, clouds.value);
  if (imageUrls && !imageUrls.ok) return imageUrls;
  if (imageUrls) log(imageUrls.value.size ? `${[...imageUrls.value.keys()].join(', ')} served at --image-url with the manifest's size` : 'every cloud gets a conversion, not a served output: --image-url is not used');

  const signing = material.value;
  const disks = new CloudDisks(o.manifest, m, o.workDir);
  const sign = once(async (d: CloudDisk): Promise<Result<ImageSignature>> => {
    const signed = await signImageFile(d.file, signing!.key, o.hashMethod);
    if (signed.ok) log(`signed ${d.converted ? `the ${d.format} conversion` : d.from} (${signed.value.img_signature_key_type}, ${signed.value.img_signature_hash_method})`);
    return signed;
  });
  const run: PublishRun = {
    manifestFile: o.manifest,
    manifest: m,
    manifestSha256: createHash('sha256').update(await readFile(o.manifest)).digest('hex'),
    disk: (f) => disks.get(f),
    signature: signing ? sign : null,
    signing,
    name: (format) => imageName(pattern, { image: m.image, tag: m.tag, format }),
    visibility: o.visibility ?? 'private',
    properties: o.properties ?? {},
    keep: o.keep ?? null,
    startedAt,
    imageUrls: imageUrls?.value ?? null,
  };
  try {
    const results = await mapLimit(clouds.value, o.parallel ?? 2, (t) =>
      publishToCloud(run, t, (l) => log(l, t.label), o.onProgress ? (sent, total) => o.onProgress!(t.label, sent, total) : undefined),
    );
    return ok({ ok: results.every((r) => r.ok), manifest: o.manifest, image: m.image, tag: m.tag, manifestSha256: run.manifestSha256, clouds: results });
  } finally {
    await disks.dispose();
  }
}

/** What a command that worked on clouds ends with: null when all went well; the one cloud's own failure; else which failed. */
export function cloudsFailure(action: 'publish' | 'prune', results: { cloud: string; ok: boolean; failure?: Failure }[]): Failure | null {
  const failed = results.filter((r) => !r.ok);
  if (!failed.length) return null;
  if (results.length === 1 && failed[0]!.failure) return failed[0]!.failure;
  return {
    reason: 'clouds-incomplete',
    action,
    failed: failed.map((r) => ({ cloud: r.cloud, failure: r.failure ?? { reason: 'publish-failed', step: action, message: 'unknown' } })),
    succeeded: results.filter((r) => r.ok).map((r) => r.cloud),
  };
}
