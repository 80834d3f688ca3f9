// Publishing to one cloud, leaving nothing half-made there:
//
//   Keystone token ─► [Barbican: store certificate] ─► disk in the cloud's format (cloud-disk.ts)
//     ─► POST image (manifest properties, marker tags, signature, user properties)
//     ─► web-download (POST import with --image-url's URL: Glance fetches the served output)
//        where /v2/info/import offers it, the image is unsigned and the cloud gets the output
//        as it is (a conversion is not what is served),
//        else glance-direct (PUT stage + POST import) where offered and unsigned, else PUT file
//
// A signed image goes up by PUT: Glance checks the signature either way, but
// refuses a bad one on a PUT with its reason as the answer, while a failed
// import only leaves the image `importing` with a task that says "Internal
// Error" (Zed): a signature refused must be told as such (exit 3).
//     ─► wait active ─► compare checksum (md5) and os_hash_value (sha512) with the uploaded file's
//        (with web-download, the manifest's: that check is what proves Glance fetched its bytes)
//     ─► retention (retention.ts): leaked uploads always, old images with --keep
//
// Any failure after the image (or the secret) exists deletes it again; what
// could not be deleted is named in the result. The result is a value in every
// case: the caller reports each cloud, whatever happened to the others.
import { fail, ok, type Failure, type Result } from '../failure.js';
import type { ImageSignature } from '../manifest/image-signature.js';
import type { Manifest } from '../manifest/manifest.js';
import type { ImageFormat } from '../output/formats.js';
import { deleteSecret, storeCertificate } from './barbican.js';
import { describeCatalog, endpointFor } from './catalog.js';
import type { CloudDisk } from './cloud-disk.js';
import type { Cloud } from './cloud-config.js';
import { createImage, deleteImage, importMethods, sendImageData, startImport, waitForActive, type GlanceImage } from './images.js';
import { hideQuery, shownUrl } from './image-url.js';
import { authenticate, type Session } from './keystone.js';
import { manifestTag, MARKER_TAG, SERIES_PROPERTY } from './naming.js';
import { applyRetention, PUBLISHED_AT_PROPERTY, type RetentionReport } from './retention.js';
import type { SigningMaterial } from './signing-material.js';

export type Visibility = 'private' | 'shared' | 'community' | 'public';

/** What every cloud of one publish shares. */
export interface PublishRun {
  manifestFile: string;
  manifest: Manifest;
  /** sha256 of the manifest file: the image's manifest tag. */
  manifestSha256: string;
  /** The disk in a format (the output, or a conversion made once). */
  disk: (format: ImageFormat) => Promise<Result<CloudDisk>>;
  /** The image signature of a disk (made once per format), when signing. */
  signature: ((disk: CloudDisk) => Promise<Result<ImageSignature>>) | null;
  signing: SigningMaterial | null;
  /** The image name for a format. */
  name: (format: ImageFormat) => Result<string>;
  visibility: Visibility;
  properties: Record<string, string>;
  /** Keep the newest N of the series; null: only remove leaked uploads. */
  keep: number | null;
  /** When this publish began (ISO, ms): uploads older than this and unfinished are leaks. */
  startedAt: string;
  /** `--image-url`: where each output is served (by file name, checked to answer with its size); null without it. */
  imageUrls: Map<string, string> | null;
}

export type UploadMethod = 'web-download' | 'glance-direct' | 'put';

/** One cloud's outcome, as the JSON report shows it. */
export interface CloudResult {
  cloud: string;
  ok: boolean;
  id: string | null;
  name: string | null;
  status: string | null;
  /** The manifest's format id of what was uploaded, and Glance's disk_format. */
  format: string;
  diskFormat: string | null;
  /** The uploaded file, and whether it was converted from another output (`from`). */
  file: string | null;
  from: string | null;
  converted: boolean;
  uploadMethod: UploadMethod | null;
  /** With web-download: the URL Glance fetched (without query: it may hold a credential). */
  imageUrl: string | null;
  /** With --image-url and another method: why this cloud did not fetch it. */
  notWebDownload: string | null;
  checksum: string | null;
  osHashAlgo: string | null;
  osHashValue: string | null;
  checks: { md5: 'match' | 'not checked'; osHash: 'match' | 'not sha512: not compared' | 'not checked'; signature: 'verified by Glance' | 'unsigned' };
  certificateUuid: string | null;
  signatureVerified: boolean;
  retention: RetentionReport | null;
  /** Present when ok is false. */
  failure?: Failure;
  /** What could not be cleaned up after a failure (image or secret ids). */
  leftBehind: string[];
}

export interface CloudTarget {
  /** The cloud's name in clouds.yaml, or `OS_* variables`. */
  label: string;
  cloud: Cloud;
  format: ImageFormat;
}

type Log = (line: string) => void;
type Progress = (sent: number, total: number) => void;

function emptyResult(t: CloudTarget): CloudResult {
  return {
    cloud: t.label,
    ok: false,
    id: null,
    name: null,
    status: null,
    format: t.format,
    diskFormat: null,
    file: null,
    from: null,
    converted: false,
    uploadMethod: null,
    imageUrl: null,
    notWebDownload: null,
    checksum: null,
    osHashAlgo: null,
    osHashValue: null,
    checks: { md5: 'not checked', osHash: 'not checked', signature: 'unsigned' },
    certificateUuid: null,
    signatureVerified: false,
    retention: null,
    leftBehind: [],
  };
}

/** Logs in and finds Glance (the override, else the catalog's). */
export async function openCloud(cloud: Cloud): Promise<Result<{ session: Session; glance: string }>> {
  const session = await authenticate(cloud);
  if (!session.ok) return session;
  const glance = cloud.imageEndpoint ?? endpointFor(session.value.catalog, 'image', cloud.interface, cloud.regionName);
  if (!glance) return fail({ reason: 'cloud-config', message: `${cloud.source}: no ${cloud.interface} image endpoint${cloud.regionName ? ` in region ${cloud.regionName}` : ''} in the catalog`, hint: `catalog: ${describeCatalog(session.value.catalog)}` });
  return ok({ session: session.value, glance });
}

export async function publishToCloud(run: PublishRun, t: CloudTarget, log: Log, progress?: Progress): Promise<CloudResult> {
  const result = emptyResult(t);
  const failed = (f: Failure): CloudResult => ({ ...result, ok: false, failure: f });
  const opened = await openCloud(t.cloud);
  if (!opened.ok) return failed(opened.error);
  const { session: s, glance } = opened.value;
  log(`authenticated to ${t.cloud.source}`);

  const disk = await run.disk(t.format);
  if (!disk.ok) return failed(disk.error);
  const d = disk.value;
  Object.assign(result, { file: d.file, from: d.from, converted: d.converted, diskFormat: d.glance.disk_format });
  if (d.converted) log(`converted ${d.from} to ${d.format} for this cloud (same disk contents, checked)`);

  let secret: { barbican: string; uuid: string } | null = null;
  let imageId: string | null = null;
  /** The URL Glance fetches from, when web-download: its query never reaches a message (Glance echoes it). */
  let fetchedFrom: string | null = null;
  /** Undoes what this cloud got, then fails with `given` (naming what stayed). */
  const undo = async (given: Failure): Promise<CloudResult> => {
    const f = fetchedFrom ? (JSON.parse(hideQuery(JSON.stringify(given), fetchedFrom)) as Failure) : given;
    const left: string[] = [];
    if (imageId && !(await deleteImage(s, glance, imageId)).ok) left.push(`image ${imageId}`);
    if (secret && !(await deleteSecret(s, secret.barbican, secret.uuid)).ok) left.push(`Barbican secret ${secret.uuid}`);
    const failure: Failure =
      f.reason === 'signature-rejected' ? { ...f, deleted: !left.length } : f.reason === 'publish-failed' && left.length ? { ...f, leftBehind: left.join(', ') } : f;
    return { ...failed(failure), leftBehind: left };
  };

  let certificateUuid: string | null = run.signing && 'uuid' in run.signing.certificate ? run.signing.certificate.uuid : null;
  if (run.signing && 'pem' in run.signing.certificate) {
    const barbican = endpointFor(s.catalog, 'key-manager', t.cloud.interface, t.cloud.regionName);
    if (!barbican) return failed({ reason: 'cloud-config', message: `${t.cloud.source}: --certificate needs a key-manager (Barbican) endpoint, and the catalog has none`, hint: `catalog: ${describeCatalog(s.catalog)}` });
    const stored = await storeCertificate(s, barbican, run.signing.certificate.pem, `imgfactory ${run.manifest.image} certificate`);
    if (!stored.ok) return failed(stored.error);
    secret = { barbican, uuid: stored.value };
    certificateUuid = stored.value;
    log(`stored the certificate in Barbican as ${certificateUuid}`);
  }
  let signature: ImageSignature | null = null;
  if (run.signature) {
    const signed = await run.signature(d);
    if (!signed.ok) return undo(signed.error);
    signature = signed.value;
  }

  const name = run.name(t.format);
  if (!name.ok) return undo(name.error);
  const methods = signature ? ok([]) : await importMethods(s, glance);
  if (!methods.ok) return undo(methods.error);
  const { method, url, notWebDownload } = chooseMethod(run, d, Boolean(signature), methods.value);
  fetchedFrom = url;
  if (notWebDownload) log(`not by web-download: ${notWebDownload}`);
  const m = run.manifest;
  const body: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(d.glance).map(([k, v]) => [k, k === 'min_disk' || k === 'min_ram' ? v : String(v)])),
    name: name.value,
    visibility: run.visibility,
    tags: [MARKER_TAG, manifestTag(run.manifestSha256)],
    [SERIES_PROPERTY]: m.image,
    [PUBLISHED_AT_PROPERTY]: new Date().toISOString(),
    imgfactory_manifest_sha256: d.sha256,
    ...(m.tag ? { imgfactory_tag: m.tag } : {}),
    ...(signature && certificateUuid ? { ...signature, img_signature_certificate_uuid: certificateUuid } : {}),
    ...run.properties,
  };
  const created = await createImage(s, glance, body);
  if (!created.ok) return undo(created.error);
  imageId = created.value.id;
  Object.assign(result, { id: imageId, name: name.value, uploadMethod: method, imageUrl: url && shownUrl(url), notWebDownload, certificateUuid });
  log(`created image ${imageId} (${name.value}), ${url ? `Glance fetches ${d.format} from ${shownUrl(url)} (web-download)` : `uploading ${d.format} by ${method === 'put' ? 'PUT' : 'glance-direct import'}`}`);

  if (method !== 'web-download') {
    const sent = await sendImageData(s, glance, imageId, method === 'put' ? 'file' : 'stage', d.file, d.size, progress);
    if (!sent.ok) return undo(sent.error);
    if (!sent.value.done) {
      const { status, message } = sent.value;
      if (signature && /signature/i.test(message)) return undo({ reason: 'signature-rejected', image: imageId, message, deleted: true });
      return undo({ reason: 'publish-failed', step: method === 'put' ? 'uploading the image data' : 'staging the image data', status, message });
    }
  }
  if (method !== 'put') {
    const imported = await startImport(s, glance, imageId, url ? { name: 'web-download', uri: url } : { name: 'glance-direct' });
    if (!imported.ok) return undo(imported.error);
  }
  const active = await waitForActive(s, glance, imageId, method !== 'put');
  if (!active.ok) {
    const e = active.error;
    if (signature && e.reason === 'publish-failed' && /signature/i.test(e.message)) return undo({ reason: 'signature-rejected', image: imageId, message: e.message, deleted: true });
    return undo(e);
  }
  const checked = compareHashes(active.value, d, run.manifestFile, imageId, url);
  if (!checked.ok) return undo(checked.error);
  if (checked.value.osHash !== 'match') log(`Glance hashes with ${active.value.os_hash_algo ?? 'nothing'}, not sha512: only the md5 checksum was compared`);
  Object.assign(result, {
    status: active.value.status,
    checksum: active.value.checksum,
    osHashAlgo: active.value.os_hash_algo,
    osHashValue: active.value.os_hash_value,
    checks: { ...checked.value, signature: signature ? 'verified by Glance' : 'unsigned' },
    signatureVerified: Boolean(signature),
  });

  const retention = await applyRetention(s, glance, m.image, { keep: run.keep, startedAt: run.startedAt, current: imageId });
  if (!retention.ok) return { ...result, ok: false, failure: retention.error };
  return { ...result, ok: true, retention: retention.value };
}

/**
 * How the data goes up: web-download where the cloud offers it and the
 * output is served as this cloud gets it, else glance-direct where offered,
 * else PUT; a signed image always by PUT (see the top of this file). With
 * --image-url, `notWebDownload` says why another method was used.
 */
export function chooseMethod(run: PublishRun, d: CloudDisk, signed: boolean, offered: string[]): { method: UploadMethod; url: string | null; notWebDownload: string | null } {
  const url = run.imageUrls?.get(d.from) ?? null;
  const fallback = offered.includes('glance-direct') ? 'glance-direct' : 'put';
  if (!run.imageUrls) return { method: fallback, url: null, notWebDownload: null };
  const why = signed
    ? 'the image is signed, and a signed image goes by PUT'
    : d.converted
      ? `this cloud gets ${d.format}, converted from the served ${d.from}`
      : !offered.includes('web-download')
        ? `the cloud does not offer it (import methods: ${offered.join(', ') || 'none'})`
        : !url
          ? `${d.from} is not served at --image-url`
          : null;
  return why ? { method: fallback, url: null, notWebDownload: `${why}; uploaded the local file by ${fallback === 'put' ? 'PUT' : 'glance-direct'}` } : { method: 'web-download', url, notWebDownload: null };
}

/** Glance's checksums of the image against the uploaded file's (with web-download, the manifest's output's: what Glance fetched must be its bytes). */
export function compareHashes(img: GlanceImage, d: CloudDisk, manifestFile: string, id: string, url: string | null): Result<Pick<CloudResult['checks'], 'md5' | 'osHash'>> {
  const problems: string[] = [];
  const what = url ? `${d.from} fetched by Glance from ${shownUrl(url)}` : d.converted ? `the ${d.format} conversion of ${d.from}` : d.from;
  const theirs = url ? "the manifest's" : "the uploaded file's";
  if (img.checksum !== d.md5) problems.push(`Glance checksum (md5) is ${img.checksum}, ${theirs} is ${d.md5}`);
  const sha512 = img.os_hash_algo === 'sha512';
  if (sha512 && img.os_hash_value !== d.sha512) problems.push(`Glance os_hash_value (sha512) is ${img.os_hash_value}, ${theirs} is ${d.sha512}`);
  // An upload's bytes are ours; fetched bytes are proven only by a hash no one can collide with.
  if (!sha512 && url) problems.push(`Glance hashes with ${img.os_hash_algo ?? 'nothing'}, not sha512: md5 alone cannot prove the fetched bytes are the manifest's (publish without --image-url)`);
  if (problems.length) return fail({ reason: 'verify-failed', manifest: manifestFile, problems: problems.map((p) => `${what} in Glance image ${id}: ${p}`) });
  return ok({ md5: 'match', osHash: sha512 ? 'match' : 'not sha512: not compared' });
}
