// The build's outputs (`<name>.<ext>` in the output directory), keyed like
// layers: output key = the last layer's key and bytes + the output settings.
// A cached output is copied out (integrity checked on the way); a new one is
// written under a temporary name, stored, and renamed into place only when
// complete, so an existing output is replaced only by a finished one.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FileDigest, LayerKey } from '../cache/digest.js';
import { outputKey } from '../cache/keys.js';
import type { LayerStore } from '../cache/store.js';
import { FailureError } from '../failure.js';
import { publishOutput, tempOutputPath } from '../image/outputs.js';
import type { EventSink } from './events.js';
import { writeTreeTar } from './tree-tar.js';

export type OutputType = 'tar' | 'raw' | 'qcow2';

export interface OutputRequest {
  types: OutputType[];
  outputDir: string;
}

export interface OutputFile {
  path: string;
  format: OutputType;
  size: number;
  sha256: string;
  cached: boolean;
}

interface OutputContext {
  request: OutputRequest;
  lastKey: LayerKey;
  lastLayer: FileDigest;
  store: LayerStore | null;
  name: string;
  emit: EventSink;
}

/** Output settings that change the bytes; bump `v` when an output's recipe changes. */
function keyFor(ctx: OutputContext, format: OutputType): LayerKey {
  return outputKey(ctx.lastKey, { v: 1, format, lastLayer: ctx.lastLayer });
}

const finalPath = (ctx: OutputContext, format: OutputType): string => path.resolve(ctx.request.outputDir, `${ctx.name}.${format}`);

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
    const { sha256, size } = await publishOutput(tmp, target);
    files.push({ path: target, format, size, sha256, cached: true });
    ctx.emit({ type: 'output', path: target, format, size, cached: true });
  }
  return files;
}

export async function writeOutputs(ctx: OutputContext & { tree: string; spool: string }): Promise<OutputFile[]> {
  await mkdir(ctx.request.outputDir, { recursive: true });
  const files: OutputFile[] = [];
  for (const format of ctx.request.types) {
    const target = finalPath(ctx, format);
    const tmp = tempOutputPath(target);
    try {
      if (format === 'tar') await writeTreeTar(ctx.tree, tmp);
      else throw new FailureError({ reason: 'not-implemented', what: `-t ${format}`, issue: 'issue 5 (bootable disk images)' });
      if (ctx.store) await ctx.store.putLayer(keyFor(ctx, format), createReadStream(tmp), { image: ctx.name, step: `output/${format}` });
      const { sha256, size } = await publishOutput(tmp, target);
      files.push({ path: target, format, size, sha256, cached: false });
      ctx.emit({ type: 'output', path: target, format, size, cached: false });
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
  return files;
}
