// Disk image outputs: the final tree assembled into raw/qcow2/... files by
// src/image, with the image's block-device.d hooks run at their slot (after
// the raw disk is complete, IMAGE_BLOCK_DEVICE = the raw file, outside the
// tree, run by the build's sandbox on a read-only view of the tree).
// Everything that changes the image's bytes beyond the tree is in
// `diskKeySettings`, which goes into the outputs' cache keys.
import { DEFAULT_KERNEL_ARGS } from '../image/grub-config.js';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../cache/canonical-json.js';
import { clusterSource, type ClusterSource } from '../cache/cluster-sources.js';
import { sha256Buffer, sha256File } from '../cache/digest.js';
import type { BootSettings } from '../elements/dib-bootloader.js';
import type { Element } from '../elements/element.js';
import { fail, ok, unwrap, type Result } from '../failure.js';
import { assembleImage, codecId, type ImageOutput, type Layout } from '../image/index.js';
import type { Compression, ImageFormat } from '../output/formats.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { hookFailed } from '../steps/sandboxed.js';
import { HELPER_DIR } from '../steps/helper-scripts.js';

export interface DiskSettings {
  layout: Layout;
  compression: Compression;
  /** --image-size, parsed once (src/engine/output-request.ts). */
  imageSize?: DiskSize;
  /** --image-extra-size, likewise. */
  extraSize?: DiskSize;
  /** The build's SOURCE_DATE_EPOCH: every time the image holds. */
  sourceDateEpoch: number;
  /** The image's block-device.d hooks, in run order. */
  blockDeviceHooks: { element: string; name: string; path: string }[];
  /** The environment block-device.d hooks run with (before IMAGE_BLOCK_DEVICE and TARGET_ROOT). */
  hookEnv: Record<string, string>;
  /** grub.cfg's kernel command line and timeout when DIB's bootloader element chose them; else imgfactory's (image/grub-config.ts). */
  boot?: BootSettings;
}

/** A size option: the bytes it means, and the text as typed (which the cache key has always hashed). */
export interface DiskSize {
  text: string;
  bytes: number;
}

/** The part of the disk settings that can change an image's bytes: a cache-key input. */
export async function diskKeySettings(s: DiskSettings, keyEnv: Record<string, string>): Promise<unknown> {
  const hooks: Record<string, string> = {};
  for (const h of s.blockDeviceHooks) hooks[`${h.element}/${h.name}`] = await sha256File(h.path);
  return {
    layout: sha256Buffer(canonicalJson({ ...s.layout, source: null })),
    compress: s.compression !== 'none',
    // zlib was the only codec once: its keys hold no codec, so the entries made then still hit.
    ...(s.compression === 'zstd' ? { codec: 'zstd' } : {}),
    // How the disk is written (image/assemble.ts): 2 since the root filesystem
    // is made in place in the raw disk and compressed qcow2 is our own writer's,
    // whose bytes depend on the codec library's version (codecId). Entries
    // written before are other bytes for the same inputs: they must not hit.
    assembly: 2,
    // The kernel command line grub.cfg is written with: imgfactory's, or what DIB's bootloader element's variables make.
    kernelArgs: s.boot?.kernelArgs ?? DEFAULT_KERNEL_ARGS,
    // Its menu's timeout, when DIB's bootloader element set it (imgfactory's own is fixed; keys without it stay as they were).
    ...(s.boot ? { grubTimeout: s.boot.timeout } : {}),
    ...(s.compression !== 'none' ? { clusterCodec: codecId(s.compression) } : {}),
    // As typed ('8GiB'), as keys have always held it: existing caches keep hitting.
    imageSize: s.imageSize?.text ?? null,
    extraSize: s.extraSize?.text ?? null,
    epoch: s.sourceDateEpoch,
    blockDeviceHooks: hooks,
    env: s.blockDeviceHooks.length > 0 ? keyEnv : null,
  };
}

/** Where the image's last compressed qcow2 is kept for the next build to reuse (cache/cluster-sources.ts); none without a cache or compression. */
export function qcow2ReuseSource(cacheDir: string | null, name: string, s: DiskSettings | undefined): ClusterSource | undefined {
  if (!cacheDir || !s || s.compression === 'none') return undefined;
  return clusterSource(cacheDir, name, codecId(s.compression));
}

export function blockDeviceHooks(elements: Element[]): DiskSettings['blockDeviceHooks'] {
  return elements
    .flatMap((e) => (e.hooks['block-device.d'] ?? []).map((h) => ({ element: e.name, name: h.name, path: h.path })))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface AssembleDiskOptions {
  tree: string;
  hooksDir: string;
  formats: ImageFormat[];
  settings: DiskSettings;
  seed: string;
  /** Where the finished files are left (see assembleImage); the caller publishes them. */
  resultDir: string;
  name: string;
  workDir: string;
  logDir: string;
  /** The build's sandbox: it runs the block-device.d hooks. */
  sandbox: Sandbox;
  /** An earlier qcow2 of the image and its cluster index (cache/cluster-sources.ts), if the build has a cache. */
  qcow2Reuse?: { qcow2: string; index: string };
  onLine: (line: string) => void;
}

export async function assembleDisk(o: AssembleDiskOptions): Promise<ImageOutput[]> {
  const logFile = path.join(o.logDir, 'assemble-image.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  try {
    const result = await assembleImage({
      rootDir: o.tree,
      layout: o.settings.layout,
      seed: o.seed,
      sourceDateEpoch: o.settings.sourceDateEpoch,
      formats: o.formats,
      resultDir: o.resultDir,
      name: o.name,
      compression: o.settings.compression,
      ...(o.settings.imageSize ? { imageSize: o.settings.imageSize.bytes } : {}),
      ...(o.settings.extraSize ? { extraSize: o.settings.extraSize.bytes } : {}),
      ...(o.settings.boot ? { kernelArgs: o.settings.boot.kernelArgs, grubTimeout: o.settings.boot.timeout } : {}),
      workDir: o.workDir,
      ...(o.qcow2Reuse ? { qcow2Reuse: o.qcow2Reuse } : {}),
      onLog: (line: string) => {
        log.write(`${line}\n`);
        o.onLine(line);
      },
      onBlockDevice: async (ctx) => {
        for (const hook of o.settings.blockDeviceHooks) {
          const r = await runBlockDeviceHook(hook, { ...o.settings.hookEnv, ...ctx.env }, o, ctx.image);
          if (!r.ok) return r;
        }
        return ok(undefined);
      },
    });
    return unwrap(result).outputs;
  } finally {
    await new Promise<void>((resolve) => log.end(resolve));
  }
}

/**
 * One block-device.d hook, run by the sandbox outside the tree: the tree is
 * already in the image's filesystem, and its files may be shared with tree
 * checkpoints (src/cache/checkpoints.ts), so the hook sees TARGET_ROOT as a
 * read-only view of it (mounted at <workDir>/block-device-root). Of the
 * host it may write the hooks tree and the directory of the disk image.
 */
async function runBlockDeviceHook(hook: DiskSettings['blockDeviceHooks'][number], env: Record<string, string>, o: AssembleDiskOptions, image: string): Promise<Result<void>> {
  const logFile = path.join(o.logDir, `block-device.d_${hook.name}.log`);
  const mergedDir = path.join(o.workDir, 'block-device-root');
  await mkdir(mergedDir, { recursive: true });
  const outcome = await o.sandbox.run({
    tree: 'read-only',
    lowerDir: o.tree,
    mergedDir,
    inside: false,
    argv: ['/bin/bash', path.join(o.hooksDir, HELPER_DIR, 'run-hook'), 'block-device.d', hook.name],
    env,
    binds: [],
    hostWritable: [o.hooksDir, path.dirname(image)],
    resolver: false,
    onLine: (_stream, line) => {
      if (line.trim()) o.onLine(`${hook.element}/block-device.d/${hook.name} | ${line}`);
    },
    logFile,
  });
  if (outcome.exitCode === 0) return ok(undefined);
  return fail(await hookFailed({ element: hook.element, phase: 'block-device.d', script: hook.name }, outcome, logFile, true));
}
