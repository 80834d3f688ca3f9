// Every build ends with a manifest beside its outputs (src/manifest): the
// outputs and their hashes, the elements and their digests, the layer keys,
// the installed packages, the build's inputs and the Glance properties —
// signed when --sign-key is given. The installed packages are read from the
// final tree once and kept in the cache next to the outputs, so a build
// that needs no tree (everything cached) still lists them.
import path from 'node:path';
import { canonicalJson } from '../cache/canonical-json.js';
import { digestTree, type FileDigest, type LayerKey } from '../cache/digest.js';
import { outputKey } from '../cache/keys.js';
import type { LayerEntry, LayerStore } from '../cache/store.js';
import { toolVersion } from '../util/version.js';
import type { Distro } from '../distro/distro.js';
import { unwrap } from '../failure.js';
import type { ImageGraph } from '../graph/resolve.js';
import { bootTargets, type Layout } from '../image/layout.js';
import { buildManifest, writeManifest } from '../manifest/build-manifest.js';
import type { ManifestOutput, ManifestPackage } from '../manifest/manifest.js';
import { describeOutput } from '../manifest/output-info.js';
import { installedPackages } from '../manifest/packages.js';
import { signManifest } from '../manifest/sign.js';
import type { OutputFile } from './outputs.js';

const packagesKey = (lastKey: LayerKey, lastLayer: FileDigest): LayerKey => outputKey(lastKey, { v: 1, kind: 'installed-packages', lastLayer });

/** Reads the final tree's packages and, with a cache, keeps them for builds that will not have the tree. */
export async function treePackages(tree: string, store: LayerStore | null, lastKey: LayerKey, lastLayer: FileDigest, image: string): Promise<ManifestPackage[]> {
  const packages = unwrap(await installedPackages(tree));
  if (store) await store.putLayer(packagesKey(lastKey, lastLayer), Buffer.from(canonicalJson(packages)), { image, step: 'output/installed-packages' });
  return packages;
}

/** The cached package list of a final tree, or null (then the build is not a no-op). */
export async function cachedPackages(store: LayerStore, lastKey: LayerKey, lastLayer: FileDigest): Promise<ManifestPackage[] | null> {
  const entry = await store.lookup(packagesKey(lastKey, lastLayer));
  return entry ? readJson<ManifestPackage[]>(store, entry) : null;
}

/**
 * An output's manifest description (size, virtual size, sha256/sha512/md5),
 * cached by the file's sha256: a build whose outputs come from the cache
 * does not read them three more times to describe them.
 */
async function describe(store: LayerStore | null, file: OutputFile): Promise<ManifestOutput> {
  const key = outputKey(`sha256:${file.sha256}` as LayerKey, { v: 1, kind: 'output-description', format: file.format });
  const entry = store ? await store.lookup(key) : null;
  if (entry) {
    const cached = await readJson<ManifestOutput>(store!, entry);
    if (cached) return { ...cached, name: path.basename(file.path) };
  }
  const described = unwrap(await describeOutput(file.path, file.format, file.hashes));
  if (store) await store.putLayer(key, Buffer.from(canonicalJson(described)), { step: 'output/description' });
  return described;
}

async function readJson<T>(store: LayerStore, entry: LayerEntry): Promise<T | null> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of await store.openLayer(entry)) chunks.push(chunk as Buffer);
  } catch {
    await store.remove(entry.key);
    return null;
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

export interface ManifestRequest {
  store: LayerStore | null;
  graph: ImageGraph;
  distro: Distro;
  imageName: string;
  outputDir: string;
  outputs: OutputFile[];
  layerKeys: string[];
  packages: ManifestPackage[];
  declared: Record<string, string>;
  sourceDateEpoch: number | null;
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
    await buildManifest({
      image: r.imageName,
      outputs: await Promise.all(r.outputs.map(async (o) => ({ path: o.path, format: o.format, described: await describe(r.store, o) }))),
      elements,
      layerKeys: r.layerKeys,
      distro: { name: r.distro.name, release: r.distro.release, arch: r.distro.arch },
      packages: r.packages,
      toolVersion: toolVersion(),
      sourceDateEpoch: r.sourceDateEpoch,
      inputs: r.declared,
      layout: r.layout && boot ? { name: layoutName(r.layout), firmware: boot.bios && boot.efi ? 'both' : boot.efi ? 'uefi' : 'bios' } : null,
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
