// `imgfactory publish`: one manifest output into Glance, leaving nothing
// half-made.
//
//   verify manifest ─► Keystone token ─► [Barbican: store certificate] ─► sign data (img_signature)
//     ─► POST image (manifest + signature + user properties) ─► PUT file (streamed)
//     ─► wait active ─► compare checksum (md5) and os_hash_value (sha512)
//
// Any failure after the image (or the secret) exists deletes it again. Glance
// refusing the data because the signature does not verify is a
// 'signature-rejected' (exit 3); checksums that differ are 'verify-failed'.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Failure, type Result } from '../failure.js';
import { defaultHashMethod, signImageFile, type GlanceHashMethod, type ImageSignature } from '../manifest/image-signature.js';
import { signatureFileName, type ManifestOutput } from '../manifest/manifest.js';
import { verifyManifest } from '../manifest/verify.js';
import { deleteSecret, storeCertificate } from './barbican.js';
import { describeCatalog, endpointFor } from './catalog.js';
import { resolveCloud } from './cloud-config.js';
import { createImage, deleteImage, uploadImageData, waitForActive } from './images.js';
import { authenticate } from './keystone.js';
import { loadSigningMaterial } from './signing-material.js';

export type Visibility = 'private' | 'shared' | 'community' | 'public';

export interface PublishOptions {
  manifest: string;
  /** Which output (by format); default qcow2 if there is one, else the first disk output. */
  format?: string;
  /** Image name; default `<image>` plus `-<tag>` when the manifest has a tag. */
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
  /** Named cloud in clouds.yaml (else OS_CLOUD, else OS_* variables). */
  cloud?: string;
  onProgress?: (sent: number, total: number) => void;
  onLog?: (line: string) => void;
}

export interface Published {
  id: string;
  name: string;
  status: string;
  file: string;
  format: string;
  checksum: string;
  osHashAlgo: string;
  osHashValue: string;
  certificateUuid: string | null;
  signatureVerified: boolean;
}

function pickOutput(outputs: ManifestOutput[], glanceFormats: string[], format?: string): Result<ManifestOutput> {
  const disk = outputs.filter((o) => glanceFormats.includes(o.format));
  const chosen = format ? disk.find((o) => o.format === format) : (disk.find((o) => o.format === 'qcow2') ?? disk[0]);
  if (chosen) return ok(chosen);
  const have = outputs.map((o) => o.format).join(', ') || 'none';
  return fail({ reason: 'usage', message: format ? `the manifest has no ${format} disk output (it has: ${have})` : `the manifest has no disk output to publish (it has: ${have})`, hint: 'build with -t qcow2 or -t raw' });
}

export async function publish(o: PublishOptions): Promise<Result<Published>> {
  const log = o.onLog ?? (() => {});
  const sigExists = await access(signatureFileName(o.manifest)).then(() => true, () => false);
  const verifyKey = o.verifyKey ?? (sigExists ? (o.certificate ?? o.signKey) : undefined);
  const verified = await verifyManifest(o.manifest, verifyKey ? { key: verifyKey } : {});
  if (!verified.ok) return verified;
  const m = verified.value.manifest;
  log(`verified ${o.manifest}${verified.value.signatureChecked ? ' (signature and hashes)' : ' (hashes only: no signature checked)'}`);
  const out = pickOutput(m.outputs, Object.keys(m.glance), o.format);
  if (!out.ok) return out;
  const output = out.value;
  const file = path.join(path.dirname(o.manifest), output.name);
  const glanceProps = m.glance[output.format];
  if (!glanceProps) return fail({ reason: 'usage', message: `the manifest has no Glance properties for ${output.format}` });

  const material = await loadSigningMaterial(o);
  if (!material.ok) return material;
  const signing = material.value;

  const cloud = resolveCloud(o.cloud);
  if (!cloud.ok) return cloud;
  const session = await authenticate(cloud.value);
  if (!session.ok) return session;
  const s = session.value;
  log(`authenticated to ${cloud.value.source}`);
  const glance = endpointFor(s.catalog, 'image', cloud.value.interface, cloud.value.regionName);
  if (!glance) return fail({ reason: 'cloud-config', message: `no ${cloud.value.interface} image endpoint${cloud.value.regionName ? ` in region ${cloud.value.regionName}` : ''} in the catalog`, hint: `catalog: ${describeCatalog(s.catalog)}` });

  let secret: { barbican: string; uuid: string } | null = null;
  const undo = async (imageId: string | null, f: Failure): Promise<Result<never>> => {
    const left: string[] = [];
    if (imageId) {
      const d = await deleteImage(s, glance, imageId);
      if (!d.ok) left.push(`image ${imageId}`);
    }
    if (secret) {
      const d = await deleteSecret(s, secret.barbican, secret.uuid);
      if (!d.ok) left.push(`Barbican secret ${secret.uuid}`);
    }
    if (f.reason === 'signature-rejected') return fail({ ...f, deleted: !left.length });
    if (f.reason === 'publish-failed' && left.length) return fail({ ...f, leftBehind: left.join(', ') });
    return fail(f);
  };

  let certificateUuid = signing && 'uuid' in signing.certificate ? signing.certificate.uuid : null;
  if (signing && 'pem' in signing.certificate) {
    const barbican = endpointFor(s.catalog, 'key-manager', cloud.value.interface, cloud.value.regionName);
    if (!barbican) return fail({ reason: 'cloud-config', message: '--certificate needs a key-manager (Barbican) endpoint, and the catalog has none', hint: `catalog: ${describeCatalog(s.catalog)}` });
    const stored = await storeCertificate(s, barbican, signing.certificate.pem, `imgfactory ${m.image} certificate`);
    if (!stored.ok) return stored;
    secret = { barbican, uuid: stored.value };
    certificateUuid = stored.value;
    log(`stored the certificate in Barbican as ${certificateUuid}`);
  }

  let signature: ImageSignature | null = null;
  if (signing) {
    const signed = await signImageFile(file, signing.key, o.hashMethod);
    if (!signed.ok) return undo(null, signed.error);
    signature = signed.value;
    log(`signed ${output.name} (${signature.img_signature_key_type}, ${signature.img_signature_hash_method ?? defaultHashMethod(signature.img_signature_key_type)})`);
  }

  const name = o.name ?? (m.tag ? `${m.image}-${m.tag}` : m.image);
  const body: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(glanceProps).map(([k, v]) => [k, k === 'min_disk' || k === 'min_ram' ? v : String(v)])),
    name,
    visibility: o.visibility ?? 'private',
    imgfactory_manifest_sha256: output.sha256,
    ...(m.tag ? { imgfactory_tag: m.tag } : {}),
    ...(signature && certificateUuid ? { ...signature, img_signature_certificate_uuid: certificateUuid } : {}),
    ...(o.properties ?? {}),
  };
  const created = await createImage(s, glance, body);
  if (!created.ok) return undo(null, created.error);
  const id = created.value.id;
  log(`created image ${id} (${name})`);

  const up = await uploadImageData(s, glance, id, file, output.size, o.onProgress);
  if (!up.ok) return undo(id, up.error);
  if (!up.value.done) {
    const { status, message } = up.value;
    if (signature && /signature/i.test(message)) return undo(id, { reason: 'signature-rejected', image: id, message, deleted: true });
    return undo(id, { reason: 'publish-failed', step: 'uploading the image data', status, message });
  }
  const active = await waitForActive(s, glance, id);
  if (!active.ok) return undo(id, active.error);
  const img = active.value;
  const problems: string[] = [];
  if (img.checksum !== output.md5) problems.push(`Glance checksum (md5) is ${img.checksum}, manifest says ${output.md5}`);
  if (img.os_hash_algo === 'sha512' && img.os_hash_value !== output.sha512) problems.push(`Glance os_hash_value (sha512) is ${img.os_hash_value}, manifest says ${output.sha512}`);
  if (img.os_hash_algo && img.os_hash_algo !== 'sha512') log(`Glance hashes with ${img.os_hash_algo}, not sha512: only the md5 checksum was compared`);
  if (problems.length) return undo(id, { reason: 'verify-failed', manifest: o.manifest, problems: problems.map((p) => `${output.name} in Glance image ${id}: ${p}`) });
  return ok({
    id,
    name,
    status: img.status,
    file,
    format: output.format,
    checksum: img.checksum ?? '',
    osHashAlgo: img.os_hash_algo ?? '',
    osHashValue: img.os_hash_value ?? '',
    certificateUuid,
    signatureVerified: Boolean(signature),
  });
}
