// What a build is asked to write, resolved once before it starts: the output
// formats, the disk settings (layout, sizes parsed into bytes here and
// nowhere else, block-device.d hooks) with their cache-key part; and, at the
// end, what the manifest is made from (plain data, no cache).
import path from 'node:path';
import type { ArchiveState } from '../distro/archive-state.js';
import type { EpochOrigin } from './reproducible-layer.js';
import type { Distro } from '../distro/distro.js';
import { dibBootloaderBoot, isDibBootloader } from '../elements/dib-bootloader.js';
import { FailureError, unwrap, type Result } from '../failure.js';
import type { ImageGraph } from '../graph/resolve.js';
import { loadLayout, parseLayoutText, type Layout } from '../image/index.js';
import { parseBytes } from '../image/size-spec.js';
import type { ManifestPackage } from '../manifest/manifest.js';
import { formatOf } from '../output/formats.js';
import type { Secret } from '../secrets/secret.js';
import { hookEnv, keyEnv } from '../steps/hook-env.js';
import type { BuildDir } from './build-dir.js';
import { blockDeviceHooks, diskKeySettings, type DiskSize } from './disk-output.js';
import type { ManifestRequest } from './emit-manifest.js';
import type { StepReport } from './events.js';
import type { OutputFile, OutputRequest } from './outputs.js';

/** The build options the outputs depend on (a subset of BuildOptions). */
export interface OutputOptions {
  graph: ImageGraph;
  distro: Distro;
  imageName: string;
  outputs: Omit<OutputRequest, 'disk'>;
  /** As the CLI gives them: a layout name or file, and sizes as typed (`8GiB`). */
  disk: { layout?: string; compress: boolean; imageSize?: string; extraSize?: string; /** qcow2's codec when compressing (default zstd). */ qcow2Compression?: 'zstd' | 'zlib' };
  declared: Record<string, string>;
  /** `--secret`s: hooks are offered them; the manifest names their ids only. */
  secrets?: readonly Secret[];
  sourceDateEpoch: number | null;
  tag?: string;
  signKey?: string;
}

/** The outputs asked for, with the disk settings resolved and their cache-key part. */
/**
 * `epoch`: the build's SOURCE_DATE_EPOCH (reproducible-layer.ts buildEpoch), for every time the disk image holds;
 * `dibLib`: DIB's shell libraries, `$_LIB` for block-device.d hooks as for every other hook.
 */
export async function outputRequest(
  o: OutputOptions,
  dir: BuildDir,
  { epoch, dibLib, vars }: { epoch: number; dibLib: string | null; vars: Record<string, string> },
): Promise<{ request: OutputRequest; diskKey: unknown }> {
  const request: OutputRequest = { ...o.outputs };
  if (!o.outputs.types.some((t) => formatOf(t).kind === 'disk')) return { request, diskKey: null };
  const imageSize = diskSize('--image-size', o.disk.imageSize);
  const extraSize = diskSize('--image-extra-size', o.disk.extraSize);
  const layout = unwrap(await chooseLayout(o));
  const image = { name: o.imageName, elements: o.graph.elements };
  const env = hookEnv({ place: 'outside', distro: o.distro, hooksDir: dir.hooks, declared: o.declared, sourceDateEpoch: epoch, dibLib, image });
  request.disk = {
    layout,
    compression: o.disk.compress ? (o.disk.qcow2Compression ?? 'zstd') : 'none',
    ...(imageSize ? { imageSize } : {}),
    ...(extraSize ? { extraSize } : {}),
    sourceDateEpoch: epoch,
    blockDeviceHooks: blockDeviceHooks(o.graph.elements),
    hookEnv: env,
    // DIB's bootloader in the image: grub.cfg as its hook would have had grub-mkconfig write it (elements/dib-bootloader.ts).
    ...(o.graph.elements.some((e) => isDibBootloader(e.name, e.hooks)) ? { boot: dibBootloaderBoot(vars, o.distro.arch) } : {}),
  };
  return { request, diskKey: await diskKeySettings(request.disk, keyEnv(env, dir.hooks, image.elements)) };
}

/** diskimage-builder's variable naming the block-device config: `file://<path>`, or the YAML itself. */
export const DIB_BLOCK_DEVICE_CONFIG = 'DIB_BLOCK_DEVICE_CONFIG';

/**
 * The disk layout, first found of: `--block-device`; DIB_BLOCK_DEVICE_CONFIG
 * (declared), as disk-image-create takes it over every element's; the layout
 * of the element providing `block-device`, else of the first element that has
 * one (imgfactory's `block-device-layout`, or DIB's `block-device-<arch>.yaml`
 * before its `block-device-default.yaml`); else the built-in `efi`.
 */
async function chooseLayout(o: OutputOptions): Promise<Result<Layout>> {
  if (o.disk.layout) return loadLayout(o.disk.layout);
  const dib = o.declared[DIB_BLOCK_DEVICE_CONFIG];
  if (dib) return dib.startsWith('file://') ? loadLayout(path.resolve(dib.slice('file://'.length))) : parseLayoutText(dib, DIB_BLOCK_DEVICE_CONFIG);
  const provider = o.graph.providedBy.get('block-device');
  const chosen = o.graph.elements.find((e) => e.name === provider && e.blockDevice !== null) ?? o.graph.elements.find((e) => e.blockDevice !== null);
  return loadLayout(chosen?.blockDeviceByArch?.[o.distro.arch] ?? chosen?.blockDevice ?? 'efi');
}

/** A size option in bytes (undefined when not given or empty); a usage failure when it is not a size. */
function diskSize(flag: string, text: string | undefined): DiskSize | undefined {
  if (!text) return undefined;
  const bytes = parseBytes(text);
  if (typeof bytes === 'string') throw new FailureError({ reason: 'usage', message: `${flag}: ${bytes}`, hint: 'write sizes like 8GiB or 512MiB' });
  return { text, bytes };
}

/** What the manifest is made from: the build's steps, its outputs as written or found, and its packages. */
export function manifestRequest(
  o: OutputOptions,
  request: OutputRequest,
  steps: StepReport[],
  outputs: OutputFile[],
  packages: ManifestPackage[],
  archive: ArchiveState | null,
  epoch: { seconds: number; from: EpochOrigin },
): ManifestRequest {
  return {
    graph: o.graph,
    distro: o.distro,
    imageName: o.imageName,
    outputDir: o.outputs.outputDir,
    outputs,
    layerKeys: steps.map((s) => s.key),
    layers: steps.map((s) => s.layer),
    packages,
    archive,
    declared: o.declared,
    secretIds: (o.secrets ?? []).map((s) => s.id).sort(),
    sourceDateEpoch: epoch.seconds,
    sourceDateEpochFrom: epoch.from,
    layout: request.disk?.layout ?? null,
    ...(o.tag ? { tag: o.tag } : {}),
    ...(o.signKey ? { signKey: o.signKey } : {}),
  };
}
