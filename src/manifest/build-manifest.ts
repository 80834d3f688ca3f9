// Makes the manifest of one build and writes it beside the outputs:
//
//   <dir>/<image>.manifest.json     canonical JSON (canonical.ts)
//   <dir>/<image>.provenance.json   in-toto Statement v1 + SLSA provenance v1
//
// Both are written to a temporary name and renamed, so a reader never sees
// half a file. The signature (sign.ts) is a separate step.
import path from 'node:path';
import { canonicalJson } from '../cache/canonical-json.js';
import { ok, type Result } from '../failure.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { manifestBytes } from './canonical.js';
import { glanceProperties } from './glance-properties.js';
import {
  MANIFEST_SCHEMA,
  manifestFileName,
  provenanceFileName,
  type Firmware,
  type GlanceProperties,
  type Manifest,
  type ManifestArchive,
  type ManifestElement,
  type ManifestOutput,
  type ManifestPackage,
} from './manifest.js';
import { provenance } from './provenance.js';

export interface ManifestInput {
  image: string;
  /** The output files (already in their final place, beside the manifest), described by whoever wrote them. */
  outputs: ManifestOutput[];
  elements: ManifestElement[];
  layerKeys: string[];
  /** Each step's layer digest, parallel to layerKeys. */
  layers?: string[];
  distro: { name: string; release: string; arch: string };
  /** From installedPackages(finalTree). */
  packages: ManifestPackage[];
  toolVersion: string;
  sourceDateEpoch: number | null;
  sourceDateEpochFrom?: Manifest['sourceDateEpochFrom'];
  inputs: Record<string, string>;
  /** The ids of the secrets hooks were offered (`--secret`); never a value. Left out when there were none. */
  secrets?: string[];
  /** The archive state the network steps were keyed with; null when the build had none. */
  archive?: ManifestArchive | null;
  /** null for tar-only builds. */
  layout: { name: string; firmware: Firmware } | null;
  tag?: string;
  /** MiB for Glance's min_ram; default 512. */
  minRam?: number;
}

export function buildManifest(input: ManifestInput): Result<Manifest> {
  const outputs = input.outputs;
  const glance: Record<string, GlanceProperties> = {};
  for (const o of outputs) {
    const props = glanceProperties({
      output: o,
      distro: input.distro,
      firmware: input.layout?.firmware ?? null,
      ...(input.minRam !== undefined ? { minRam: input.minRam } : {}),
    });
    if (props) glance[o.format] = props;
  }
  return ok({
    schema: MANIFEST_SCHEMA,
    image: input.image,
    tag: input.tag ?? '',
    outputs,
    elements: input.elements,
    layerKeys: input.layerKeys,
    ...(input.layers ? { layers: input.layers } : {}),
    distro: input.distro,
    packages: input.packages,
    tool: { name: 'imgfactory', version: input.toolVersion },
    sourceDateEpoch: input.sourceDateEpoch,
    ...(input.sourceDateEpochFrom ? { sourceDateEpochFrom: input.sourceDateEpochFrom } : {}),
    inputs: input.inputs,
    ...(input.secrets && input.secrets.length > 0 ? { secrets: input.secrets } : {}),
    ...(input.archive ? { archive: { from: input.archive.from, suites: input.archive.suites.map((s) => ({ suite: s.suite, url: s.url, sha256: s.sha256, date: s.date })) } } : {}),
    layout: input.layout,
    glance,
  });
}

export interface WrittenManifest {
  manifest: string;
  provenance: string;
}

export async function writeManifest(manifest: Manifest, dir: string): Promise<WrittenManifest> {
  const files = { manifest: path.join(dir, manifestFileName(manifest.image, manifest.tag)), provenance: path.join(dir, provenanceFileName(manifest.image, manifest.tag)) };
  await writeFileAtomic(files.manifest, manifestBytes(manifest), { mode: 0o644 });
  await writeFileAtomic(files.provenance, Buffer.from(`${canonicalJson(provenance(manifest))}\n`), { mode: 0o644 });
  return files;
}
