// The build's outputs (`<name>.<ext>` in the output directory) and the final
// tree's package list, cached like layers under the keys of
// src/cache/keys.ts (outputFileKey, installedPackagesKey). A new output is
// made (tar here, disk images by src/image in a scratch directory beside the
// outputs), published (src/output/publish.ts) and stored with its hashes and
// virtual size in the entry's metadata; a cached one is published from its
// blob, integrity checked on the way. Either way the build hands the
// manifest one complete OutputFile per output.
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../cache/canonical-json.js';
import { hexOf, type FileDigest, type LayerKey } from '../cache/digest.js';
import type { EntryKind } from '../cache/entry-descriptor.js';
import { installedPackagesKey, outputFileKey } from '../cache/keys.js';
import { keepClusterSource, type ClusterSource } from '../cache/cluster-sources.js';
import type { LayerEntry, LayerStore } from '../cache/store.js';
import { unwrap } from '../failure.js';
import type { ManifestPackage } from '../manifest/manifest.js';
import { installedPackages } from '../manifest/packages.js';
import { describeFile } from './describe-output.js';
import { formatOf, isImageFormat, type OutputType } from '../output/formats.js';
import { publishFile, publishStream } from '../output/publish.js';
import { tempPathFor } from '../util/atomic-write.js';
import type { FileHashes, Md5Hex, Sha256Hex, Sha512Hex } from '../util/hash-file.js';
import { assembleDisk, type DiskSettings } from './disk-output.js';
import type { Doing } from './doing.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { EventSink } from './events.js';
import { stopwatch } from './stopwatch.js';
import { treeBytes, writeTreeTar } from './tree-tar.js';

export interface OutputRequest {
  types: OutputType[];
  outputDir: string;
  /** How disk images are made (needed when `types` has a disk format). */
  disk?: DiskSettings;
}

/** One output in its final place, with everything the manifest says of it. */
export interface OutputFile {
  path: string;
  format: OutputType;
  size: number;
  sha256: string;
  /** Taken from the cache rather than made by this build. */
  cached: boolean;
  /** All its hashes (Glance wants sha512 and md5 too). */
  hashes: FileHashes;
  /** Bytes the guest sees: larger than the file for a qcow2; the file's size for raw and tar. */
  virtualSize: number;
}

interface OutputContext {
  request: OutputRequest;
  /** What, beyond the tree, changes a disk image's bytes (layout, sizes, block-device.d hooks). */
  diskKey: unknown;
  lastKey: LayerKey;
  lastLayer: FileDigest;
  store: LayerStore | null;
  name: string;
  emit: EventSink;
  /** Told what is being written where, for a failure that cuts it short (doing.ts). */
  doing: Doing;
}

/** What an output's cache entry records beside the blob's own sha256 and size. */
interface OutputMetadata {
  sha512: string;
  md5: string;
  virtualSize: number;
}

/** The kind an output is stored and looked up as (a package list is never copied out as a tar). */
const outputKind = (format: OutputType): EntryKind => `output/${format}`;
const PACKAGES_KIND: EntryKind = 'output/installed-packages';
const keyFor = (ctx: OutputContext, format: OutputType): LayerKey =>
  outputFileKey({ lastKey: ctx.lastKey, lastLayer: ctx.lastLayer, format, kind: formatOf(format).kind, disk: ctx.diskKey });
const finalPath = (ctx: OutputContext, format: OutputType): string => path.resolve(ctx.request.outputDir, `${ctx.name}.${formatOf(format).extension}`);

/** Publishes every requested output from the cache, or returns null if any is missing or damaged. */
export async function cachedOutputs(ctx: OutputContext): Promise<OutputFile[] | null> {
  if (!ctx.store) return null;
  const store = ctx.store;
  const entries = [];
  for (const format of ctx.request.types) {
    const entry = await store.lookup(keyFor(ctx, format), outputKind(format));
    if (!entry) return null;
    entries.push({ format, entry });
  }
  await mkdir(ctx.request.outputDir, { recursive: true });
  const files: OutputFile[] = [];
  for (const { format, entry } of entries) {
    const target = finalPath(ctx, format);
    ctx.doing.now({ what: `copying ${target} out of the cache`, writesTo: ['output directory'], estimate: async () => entry.size });
    // The blob's integrity is its sha256, checked while it streams: the recorded sha256 is the file's.
    const sha256 = hexOf(entry.metadata.digest);
    try {
      await publishStream(() => store.openLayer(entry), target, sha256);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINTEGRITY' || code === 'ENOENT') {
        await store.remove(entry.key);
        ctx.emit({ type: 'note', message: `cached ${format} output is damaged; removed it and building again` });
        return null;
      }
      throw e;
    }
    files.push(await cachedFile(target, format, entry, sha256));
    ctx.emit({ type: 'output', path: target, format, size: entry.size, cached: true });
  }
  return files;
}

/** A published cached output, described from its entry's metadata; entries stored before outputs carried it are described by reading the file. */
async function cachedFile(target: string, format: OutputType, entry: LayerEntry, sha256: string): Promise<OutputFile> {
  const m = entry.metadata;
  if (typeof m.sha512 === 'string' && typeof m.md5 === 'string' && typeof m.virtualSize === 'number') {
    const hashes: FileHashes = { size: entry.size, sha256: sha256 as Sha256Hex, sha512: m.sha512 as Sha512Hex, md5: m.md5 as Md5Hex };
    return { path: target, format, size: entry.size, sha256, cached: true, hashes, virtualSize: m.virtualSize };
  }
  const d = unwrap(await describeFile(target, format));
  return { path: target, format, size: d.hashes.size, sha256: d.hashes.sha256, cached: true, hashes: d.hashes, virtualSize: d.virtualSize };
}

export interface WriteContext extends OutputContext {
  tree: string;
  hooksDir: string;
  workDir: string;
  logDir: string;
  /** The build's sandbox (block-device.d hooks run in it). */
  sandbox: Sandbox;
  /** Where the image's last qcow2 and its cluster index are kept (with a cache): read before, replaced after. */
  clusterSource?: ClusterSource;
}

export async function writeOutputs(ctx: WriteContext): Promise<OutputFile[]> {
  await mkdir(ctx.request.outputDir, { recursive: true });
  const files: OutputFile[] = [];
  /** Publishes a file this build made; its virtual size is the file's size unless the maker read another. */
  const publish = async (made: string, format: OutputType, virtualSize?: number): Promise<OutputFile> => {
    const target = finalPath(ctx, format);
    ctx.doing.now({ what: `publishing ${target}`, writesTo: ['output directory'], estimate: async () => (await stat(made)).size });
    const hashes = await publishFile(made, target);
    return { path: target, format, size: hashes.size, sha256: hashes.sha256, cached: false, hashes, virtualSize: virtualSize ?? hashes.size };
  };
  /** Stores a published file with its description, and reports it. */
  const store = async (file: OutputFile): Promise<void> => {
    if (ctx.store) {
      ctx.doing.now({ what: `storing ${file.path} in the cache`, writesTo: ['cache'], estimate: async () => file.size });
      const described: OutputMetadata = { sha512: file.hashes.sha512, md5: file.hashes.md5, virtualSize: file.virtualSize };
      await ctx.store.putLayer(keyFor(ctx, file.format), outputKind(file.format), { path: file.path, size: file.size, sha256: file.sha256 }, { image: ctx.name, step: `output/${file.format}`, ...described });
    }
    files.push(file);
    ctx.emit({ type: 'output', path: file.path, format: file.format, size: file.size, cached: false });
  };
  if (ctx.request.types.includes('tar')) {
    const tmp = tempPathFor(finalPath(ctx, 'tar'));
    const timing = stopwatch();
    try {
      ctx.emit({ type: 'activity', source: 'output', text: 'writing the tar of the tree' });
      ctx.doing.now({ what: `writing ${finalPath(ctx, 'tar')}`, writesTo: ['output directory'], estimate: () => treeBytes(ctx.tree) });
      await writeTreeTar(ctx.tree, tmp);
      timing.lap('wrote the tar');
      const file = await publish(tmp, 'tar');
      timing.lap('hashed it (sha256, sha512, md5)');
      await store(file);
      if (ctx.store) timing.lap('stored it');
      timing.sayIfSlow(ctx.emit, 'output');
    } finally {
      await rm(tmp, { force: true });
    }
  }
  const formats = ctx.request.types.filter(isImageFormat);
  if (formats.length > 0) {
    if (!ctx.request.disk) throw new Error('disk outputs requested without disk settings');
    // Beside the outputs (same filesystem), so publishing is a rename, as
    // when qemu-img wrote into the output directory itself.
    const resultDir = tempPathFor(path.resolve(ctx.request.outputDir, `${ctx.name}.images`));
    ctx.emit({ type: 'activity', source: 'output', text: 'assembling the disk image' });
    // The filesystem and the raw disk in the build dir, the converted files beside the outputs.
    ctx.doing.now({ what: 'assembling the disk image', writesTo: ['build directory', 'output directory'] });
    try {
      const images = await assembleDisk({
        tree: ctx.tree,
        hooksDir: ctx.hooksDir,
        formats,
        settings: ctx.request.disk,
        seed: ctx.lastKey,
        resultDir,
        name: ctx.name,
        workDir: ctx.workDir,
        logDir: ctx.logDir,
        sandbox: ctx.sandbox,
        ...(ctx.clusterSource ? { qcow2Reuse: ctx.clusterSource } : {}),
        onLine: (line) => ctx.emit({ type: 'log', source: 'image', line }),
      });
      for (const image of images) {
        // Linked before publishing: a new link changes the file's ctime, which the placed record (output/placed.ts) holds.
        if (ctx.clusterSource && image.clusterIndex) await keepClusterSource(ctx.clusterSource, image.path, image.clusterIndex);
        await store(await publish(image.path, image.format, image.virtualSize));
      }
    } finally {
      await rm(resultDir, { recursive: true, force: true });
    }
  }
  return files;
}

/** Reads the final tree's packages and, with a cache, keeps them for builds that will not have the tree. */
export async function treePackages(tree: string, store: LayerStore | null, lastKey: LayerKey, lastLayer: FileDigest, image: string): Promise<ManifestPackage[]> {
  const packages = unwrap(await installedPackages(tree));
  if (store) await store.putLayer(installedPackagesKey(lastKey, lastLayer), PACKAGES_KIND, Buffer.from(canonicalJson(packages)), { image, step: 'output/installed-packages' });
  return packages;
}

/** The cached package list of a final tree, or null (then the build is not a no-op). */
export async function cachedPackages(store: LayerStore, lastKey: LayerKey, lastLayer: FileDigest): Promise<ManifestPackage[] | null> {
  const entry = await store.lookup(installedPackagesKey(lastKey, lastLayer), PACKAGES_KIND);
  if (!entry) return null;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of await store.openLayer(entry)) chunks.push(chunk as Buffer);
  } catch {
    await store.remove(entry.key);
    return null;
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as ManifestPackage[];
}
