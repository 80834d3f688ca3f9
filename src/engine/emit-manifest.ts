// Every build ends with a manifest beside its outputs (src/manifest): the
// outputs and their hashes, the elements and their digests, the layer keys,
// the installed packages, the build's inputs and the Glance properties —
// signed when --sign-key is given. It is made from what the build hands it
// (src/engine/output-request.ts manifestRequest): the outputs as written or
// found in the cache, the package list; it reads neither the cache nor the
// output files again.
import path from 'node:path';
import { digestTree } from '../cache/digest.js';
import type { EpochOrigin } from './reproducible-layer.js';
import { toolVersion } from '../util/version.js';
import type { Distro } from '../distro/distro.js';
import { unwrap } from '../failure.js';
import type { ImageGraph } from '../graph/resolve.js';
import { bootTargets, layoutFirmware, type Layout } from '../image/layout.js';
import { buildManifest, writeManifest } from '../manifest/build-manifest.js';
import type { ManifestArchive, ManifestOutput, ManifestPackage } from '../manifest/manifest.js';
import { signManifest } from '../manifest/sign.js';
import type { OutputFile } from './outputs.js';

/** An output as the manifest lists it: everything was known when it was written or found in the cache. */
const manifestOutput = (o: OutputFile): ManifestOutput => ({
  name: path.basename(o.path),
  format: o.format,
  size: o.size,
  virtualSize: o.virtualSize,
  sha256: o.hashes.sha256,
  sha512: o.hashes.sha512,
  md5: o.hashes.md5,
});

/** Plain data: the manifest reads no cache. */
export interface ManifestRequest {
  graph: ImageGraph;
  distro: Distro;
  imageName: string;
  outputDir: string;
  outputs: OutputFile[];
  layerKeys: string[];
  layers: string[];
  packages: ManifestPackage[];
  /** The archive state the network steps were keyed with; null when the build had none. */
  archive: ManifestArchive | null;
  declared: Record<string, string>;
  /** The ids of the build's secrets (never a value). */
  secretIds: string[];
  sourceDateEpoch: number;
  sourceDateEpochFrom: EpochOrigin;
  layout: Layout | null;
  tag?: string;
  signKey?: string;
}

export interface EmittedManifest {
  manifest: string;
  provenance: string;
  signature: string | null;
}

export async function emitManifest(r: ManifestRequest): Promise<EmittedManifest> {
  const elements = [];
  for (const e of r.graph.elements) elements.push({ name: e.name, digest: await digestTree(e.dir), origin: e.dir });
  const boot = r.layout ? bootTargets(r.layout) : null;
  const manifest = unwrap(
    buildManifest({
      image: r.imageName,
      outputs: r.outputs.map(manifestOutput),
      elements,
      layerKeys: r.layerKeys,
      layers: r.layers,
      distro: { name: r.distro.name, release: r.distro.release, arch: r.distro.arch },
      packages: r.packages,
      toolVersion: toolVersion(),
      sourceDateEpoch: r.sourceDateEpoch,
      sourceDateEpochFrom: r.sourceDateEpochFrom,
      inputs: r.declared,
      ...(r.secretIds.length > 0 ? { secrets: r.secretIds } : {}),
      archive: r.archive,
      layout: r.layout && boot ? { name: layoutName(r.layout), firmware: layoutFirmware(r.layout) } : null,
      ...(r.tag ? { tag: r.tag } : {}),
    }),
  );
  const files = await writeManifest(manifest, r.outputDir);
  const signature = r.signKey ? unwrap(await signManifest(files.manifest, r.signKey)).signatureFile : null;
  return { manifest: files.manifest, provenance: files.provenance, signature };
}

/** `efi` for a built-in layout, the file name for one given as a file. */
function layoutName(layout: Layout): string {
  return layout.source.replace(/^.*\//, '').replace(/\.(ya?ml|json)$/, '');
}
