// The build's outputs (`<name>.<ext>` in the output directory), keyed like
// layers: output key = the last layer's key and bytes + the output settings.
// A cached output is copied out (integrity checked on the way); a new one is
// written under a temporary name, stored, and renamed into place only when
// complete, so an existing output is replaced only by a finished one.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { hexOf, sha256File, type FileDigest, type LayerKey } from '../cache/digest.js';
import { outputKey } from '../cache/keys.js';
import type { LayerStore } from '../cache/store.js';
import { EXTENSION, type ImageFormat } from '../image/qemu-img.js';
import { publishOutput, tempOutputPath } from '../image/outputs.js';
import { placedSha256, recordPlaced } from '../image/placed.js';
import type { FileHashes } from '../util/hash-file.js';
import { assembleDisk, type DiskSettings } from './disk-output.js';
import type { EventSink } from './events.js';
import { stopwatch } from './stopwatch.js';
import { writeTreeTar } from './tree-tar.js';

export type OutputType = 'tar' | ImageFormat;

export interface OutputRequest {
  types: OutputType[];
  outputDir: string;
  /** How disk images are made (needed when `types` has a disk format). */
  disk?: DiskSettings;
}

export interface OutputFile {
  path: string;
  format: OutputType;
  size: number;
  sha256: string;
  cached: boolean;
  /** All its hashes when this build wrote it (stored and described without reading it again). */
  hashes?: FileHashes;
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
}

/** Output settings that change the bytes; bump `v` when an output's recipe changes. */
function keyFor(ctx: OutputContext, format: OutputType): LayerKey {
  return outputKey(ctx.lastKey, { v: 1, format, lastLayer: ctx.lastLayer, ...(format === 'tar' ? {} : { disk: ctx.diskKey }) });
}

const extension = (format: OutputType): string => (format === 'tar' ? 'tar' : EXTENSION[format]);
const finalPath = (ctx: OutputContext, format: OutputType): string => path.resolve(ctx.request.outputDir, `${ctx.name}.${extension(format)}`);

/** Copies every requested output out of the cache, or returns null if any is missing or damaged. */
export async function cachedOutputs(ctx: OutputContext): Promise<OutputFile[] | null> {
  if (!ctx.store) return null;
  const entries = [];
  for (const format of ctx.request.types) {
    const entry = await ctx.store.lookup(keyFor(ctx, format));
    if (!entry) return null;
    entries.push({ format, entry });
  }
  await mkdir(ctx.request.outputDir, { recursive: true });
  const files: OutputFile[] = [];
  for (const { format, entry } of entries) {
    const target = finalPath(ctx, format);
    const sha256 = hexOf(entry.metadata.digest);
    // The output already in place is kept when its bytes are the cached ones:
    // known without reading when it is untouched since imgfactory placed it
    // (src/image/placed.ts), else by one read instead of a verified copy.
    const inPlace = (await placedSha256(target)) ?? (await sha256OrNull(target));
    if (inPlace === sha256) {
      await writeFile(`${target}.sha256`, `${sha256}  ${path.basename(target)}\n`);
      await recordPlaced(target, sha256);
    } else {
      const tmp = tempOutputPath(target);
      try {
        await pipeline(await ctx.store.openLayer(entry), createWriteStream(tmp));
      } catch (e) {
        await rm(tmp, { force: true });
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EINTEGRITY' || code === 'ENOENT') {
          await ctx.store.remove(entry.key);
          ctx.emit({ type: 'note', message: `cached ${format} output is damaged; removed it and building again` });
          return null;
        }
        throw e;
      }
      // The copy was checked against the blob's integrity (its sha256) on the way, so the recorded sha256 is this file's.
      await writeFile(`${tempOutputPath(`${target}.sha256`)}`, `${sha256}  ${path.basename(target)}\n`);
      await rename(tmp, target);
      await rename(tempOutputPath(`${target}.sha256`), `${target}.sha256`);
      await recordPlaced(target, sha256);
    }
    files.push({ path: target, format, size: entry.size, sha256, cached: true });
    ctx.emit({ type: 'output', path: target, format, size: entry.size, cached: true });
  }
  return files;
}

export interface WriteContext extends OutputContext {
  tree: string;
  hooksDir: string;
  workDir: string;
  logDir: string;
}

export async function writeOutputs(ctx: WriteContext): Promise<OutputFile[]> {
  await mkdir(ctx.request.outputDir, { recursive: true });
  const files: OutputFile[] = [];
  const store = async (file: OutputFile): Promise<void> => {
    const blob = file.hashes ? { path: file.path, size: file.hashes.size, sha256: file.hashes.sha256 } : createReadStream(file.path);
    if (ctx.store) await ctx.store.putLayer(keyFor(ctx, file.format), blob, { image: ctx.name, step: `output/${file.format}` });
    files.push(file);
    ctx.emit({ type: 'output', path: file.path, format: file.format, size: file.size, cached: false });
  };
  if (ctx.request.types.includes('tar')) {
    const target = finalPath(ctx, 'tar');
    const tmp = tempOutputPath(target);
    const timing = stopwatch();
    try {
      ctx.emit({ type: 'activity', source: 'output', text: 'writing the tar of the tree' });
      await writeTreeTar(ctx.tree, tmp);
      timing.lap('wrote the tar');
      const hashes = await publishOutput(tmp, target);
      timing.lap('hashed it (sha256, sha512, md5)');
      await store({ path: target, format: 'tar', size: hashes.size, sha256: hashes.sha256, cached: false, hashes });
      if (ctx.store) timing.lap('stored it');
      timing.sayIfSlow(ctx.emit, 'output');
    } finally {
      await rm(tmp, { force: true });
    }
  }
  const formats = ctx.request.types.filter((t): t is ImageFormat => t !== 'tar');
  if (formats.length > 0) {
    if (!ctx.request.disk) throw new Error('disk outputs requested without disk settings');
    const images = await assembleDisk({
      tree: ctx.tree,
      hooksDir: ctx.hooksDir,
      formats,
      settings: ctx.request.disk,
      seed: ctx.lastKey,
      outputDir: ctx.request.outputDir,
      name: ctx.name,
      workDir: ctx.workDir,
      logDir: ctx.logDir,
      onLine: (line) => ctx.emit({ type: 'log', source: 'image', line }),
    });
    for (const image of images) await store({ path: image.path, format: image.format, size: image.size, sha256: image.sha256, cached: false, hashes: image.hashes });
  }
  return files;
}

/** The hex sha256 of a file, or null when there is none to read. */
const sha256OrNull = (file: string): Promise<string | null> => sha256File(file).then(hexOf, () => null);
