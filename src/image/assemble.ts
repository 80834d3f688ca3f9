// Assembles bootable disk images from a finished root tree, from files only
// (no loop partitions, no device-mapper, no mounts):
//
//   tree ──du──► sizes ──► plan (offsets) ──► disk.raw: truncate ─┐
//     root: mkfs.ext4 -d + debugfs (fstab, grub.cfg), in place at its offset
//     ESP:  mkfs.vfat + mcopy (BOOTX64.EFI; signed shim + GRUB) in a file, dd'd in
//   ─► sfdisk ─► boot.img + core.img ─► onBlockDevice hook
//   ─► raw/qcow2/vmdk/vhd files in the caller's result directory
//      (compressed qcow2 by qcow2.ts, clusters compressed in parallel; the rest by qemu-img)
//
// The files are returned, never published: the caller puts them in place
// (src/output/publish.ts).
import { mkdir, mkdtemp, rm, stat, truncate, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { fileInTree } from '../util/tree-path.js';
import { ALIGN, MIB, SECTOR, bootTargets, rootPartition, type Layout } from './layout.js';
import { diskSizeFor, planDisk, type DiskPlan, type PlacedPartition } from './partition-plan.js';
import { measureTree, rootFsSize, DEFAULT_HEADROOM_PERCENT } from './size.js';
import { formatBytes } from './size-spec.js';
import { imageIds } from './seed.js';
import { writePartitionTable } from './partition-table.js';
import { makeExt4 } from './ext4.js';
import { makeSwap, makeVfat } from './esp.js';
import { renderFstab, vfatUuid, type FstabEntry } from './fstab.js';
import { DEFAULT_KERNEL_ARGS, earlyConfig, grubCfg } from './grub-config.js';
import { treeKernelArgs } from './grub-defaults.js';
import { grubDir } from './grub-modules.js';
import { installBiosBoot, makeCoreImage } from './grub-bios.js';
import { EFI_BOOT_PATH, makeEfiImage } from './grub-efi.js';
import { secureBootEspFiles } from './secure-boot-esp.js';
import { convertImage, imageInfo } from './qemu-img.js';
import { writeQcow2 } from './qcow2.js';
import { defaultThreads } from './cluster-compressor.js';
import { formatOf, IMAGE_FORMATS, type Compression, type ImageFormat } from '../output/formats.js';
import { run, type LogFn } from '../process/run.js';
import { readAhead } from '../util/read-ahead.js';

/** What DIB's block-device.d hooks get; here the "device" is the raw image file. */
export interface BlockDeviceContext {
  /** The raw image file, fully assembled (table, filesystems, boot loader). */
  image: string;
  plan: DiskPlan;
  /** Environment for a hook script: IMAGE_BLOCK_DEVICE (the file), IMAGE_BLOCK_DEVICE_TYPE=file. */
  env: Record<string, string>;
}

export interface AssembleOptions {
  /** The finished root tree; read only, never modified. */
  rootDir: string;
  layout: Layout;
  /** Seeds every UUID/GUID/volume id: pass the image key so equal inputs give equal bytes. */
  seed: string;
  /** Timestamps written by mkfs/debugfs/mtools. */
  sourceDateEpoch: number;
  formats: ImageFormat[];
  /** Where the finished files are left for the caller (made if missing; never the output directory: nothing here is published). */
  resultDir: string;
  /** Base name of the files: `<name>.qcow2`, `<name>.raw`, ... */
  name: string;
  /** qcow2 (and vmdk) compression; default zstd. */
  compression?: Compression;
  /** The whole disk's size in bytes (rounded up to a MiB); default: computed from the tree. */
  imageSize?: number;
  /** Bytes added to the computed root filesystem size. */
  extraSize?: number;
  headroomPercent?: number;
  /** Kernel command line after root=... ro. */
  kernelArgs?: string;
  /** Seconds GRUB's menu waits (grub-config.ts's default when not given). */
  grubTimeout?: number;
  /** Scratch space (needs about twice the image size); a private subdirectory is made and removed. */
  workDir: string;
  onLog?: LogFn;
  /** An earlier qcow2 of this image and its cluster index (image/qcow2.ts): unchanged clusters are taken from it. */
  qcow2Reuse?: { qcow2: string; index: string };
  /** Runs at DIB's block-device.d slot: after the raw disk is complete, before conversion. */
  onBlockDevice?: (ctx: BlockDeviceContext) => Promise<Result<void>>;
}

/** One finished file in the result directory. */
export interface ImageOutput {
  path: string;
  format: ImageFormat;
  /** Bytes of the file as stored. */
  size: number;
  /** Bytes the guest sees (the one `qemu-img info` of the file). */
  virtualSize: number;
  /** A compressed qcow2's cluster index, beside it in the result directory (for the next build's `qcow2Reuse`). */
  clusterIndex?: string;
}

export interface LayoutUsed {
  layout: Layout;
  diskSize: number;
  partitions: Array<{ number: number; name: string; start: number; size: number; filesystem?: string; uuid?: string; label?: string; partuuid?: string }>;
  boot: { bios: boolean; efi: boolean };
  rootFs: { bytes: number; inodes: number; treeBytes: number; treeEntries: number };
}

export interface AssembleResult {
  outputs: ImageOutput[];
  layoutUsed: LayoutUsed;
}

export async function assembleImage(o: AssembleOptions): Promise<Result<AssembleResult>> {
  const checked = await checkOptions(o);
  if (!checked.ok) return checked;
  const { imageSize, extraSize } = checked.value;
  await mkdir(o.workDir, { recursive: true });
  const work = await mkdtemp(path.join(o.workDir, 'image-'));
  const temps: string[] = [];
  // mkfs.ext4 -d reads the tree one file at a time: have it in the page cache first (util/read-ahead.ts).
  const ahead = readAhead(o.rootDir);
  try {
    const r = await assembleIn(o, work, temps, imageSize, extraSize);
    if (!r.ok) await discard(temps);
    return r;
  } catch (e) {
    await discard(temps);
    throw e;
  } finally {
    const read = await ahead.stop();
    o.onLog?.(`read ahead: ${read.files} files, ${read.bytes} bytes`);
    await rm(work, { recursive: true, force: true });
  }
}

async function assembleIn(o: AssembleOptions, work: string, temps: string[], imageSize: number | undefined, extraSize: number): Promise<Result<AssembleResult>> {
  const log = o.onLog ?? (() => undefined);
  const { layout } = o;
  const root = rootPartition(layout);
  const boot = bootTargets(layout);

  // Sizes and placement.
  const usage = await measureTree(o.rootDir);
  if (!usage.ok) return usage;
  const sizing = rootFsSize(usage.value, { headroomPercent: o.headroomPercent ?? DEFAULT_HEADROOM_PERCENT, extraSize });
  log(`tree: ${usage.value.apparentBytes} bytes, ${usage.value.entries} entries -> root fs needs ${sizing.bytes} bytes, ${sizing.inodes} inodes`);
  let diskSize = imageSize;
  if (diskSize === undefined) {
    const d = diskSizeFor(layout, root.name, sizing.bytes);
    if (!d.ok) return d;
    diskSize = d.value;
  }
  const planned = planDisk(layout, diskSize);
  if (!planned.ok) return planned;
  const plan = planned.value;
  const rootPlaced = plan.partitions.find((p) => p.spec === root)!;
  if (rootPlaced.size < sizing.bytes) {
    return fail({ reason: 'image-too-small', what: `${layout.source}: root partition '${root.name}' on a ${diskSize}-byte disk`, needed: sizing.bytes, available: rootPlaced.size });
  }
  log(`disk: ${plan.diskSize} bytes; ${plan.partitions.map((p) => `${p.number}:${p.spec.name}@${p.start}+${p.size}`).join(' ')}`);

  // Identities.
  const ids = imageIds(o.seed);
  const fsUuid = (p: PlacedPartition): string => (p.spec.filesystem === 'vfat' ? vfatUuid(ids.vfatId(p.spec.name)) : ids.fsUuid(p.spec.name));
  const rootUuid = ids.fsUuid(root.name);

  // Boot loader images from the tree's GRUB.
  const early = path.join(work, 'early.cfg');
  await writeFile(early, earlyConfig(rootUuid));
  let coreImg: string | undefined;
  let bootImg: string | undefined;
  let espFiles: Record<string, string> = {};
  if (boot.bios || boot.efi) {
    for (const f of ['vmlinuz', 'initrd.img']) {
      if ((await fileInTree(o.rootDir, `/${f}`)) === null) {
        return fail({ reason: 'tree-missing', what: `/${f} in the root tree`, hint: 'install a kernel and initramfs (the vm element does) so /vmlinuz and /initrd.img exist' });
      }
    }
  }
  // As grub-mkconfig: the tree's GRUB_CMDLINE_LINUX, then the image's own arguments (its GRUB_CMDLINE_LINUX_DEFAULT).
  const fromTree = boot.bios || boot.efi ? await treeKernelArgs(o.rootDir) : ok('');
  if (!fromTree.ok) return fromTree;
  const kernelArgs = [fromTree.value, o.kernelArgs ?? DEFAULT_KERNEL_ARGS].filter((a) => a !== '').join(' ');
  if (boot.bios) {
    const dir = await grubDir(o.rootDir, 'i386-pc');
    if (!dir.ok) return dir;
    const core = await makeCoreImage(dir.value, early, path.join(work, 'core.img'), log);
    if (!core.ok) return core;
    coreImg = core.value;
    bootImg = path.join(dir.value, 'boot.img');
  }
  if (boot.efi && layout.secureBoot) {
    const files = await secureBootEspFiles(o.rootDir, rootUuid, work);
    if (!files.ok) return files;
    espFiles = files.value;
  } else if (boot.efi) {
    const dir = await grubDir(o.rootDir, 'x86_64-efi');
    if (!dir.ok) return dir;
    const efi = await makeEfiImage(dir.value, early, path.join(work, 'BOOTX64.EFI'), log);
    if (!efi.ok) return efi;
    espFiles = { [EFI_BOOT_PATH]: efi.value };
  }

  // The raw disk; the root filesystem is made in it, the others in files of their own.
  const raw = path.join(work, 'disk.raw');
  await writeFile(raw, '');
  await truncate(raw, plan.diskSize);
  const fstab: FstabEntry[] = plan.partitions
    .filter((p) => p.spec.mountpoint || p.spec.type === 'swap')
    .map((p) => ({ spec: p.spec, uuid: fsUuid(p) }));
  const fsFiles = new Map<PlacedPartition, string>();
  for (const p of plan.partitions) {
    const file = path.join(work, `part${p.number}.fs`);
    if (p.spec === root) {
      const r = await makeExt4({
        file: raw,
        offset: p.start,
        bytes: p.size,
        treeDir: o.rootDir,
        ...(p.spec.label ? { label: p.spec.label } : {}),
        uuid: rootUuid,
        hashSeed: ids.hashSeed(p.spec.name),
        inodes: sizing.inodes,
        sourceDateEpoch: o.sourceDateEpoch,
        dirs: fstab.map((e) => e.spec.mountpoint).filter((m): m is string => !!m && m !== '/'),
        inject: [
          { path: '/etc/fstab', content: renderFstab(fstab), mode: 0o644 },
          ...(boot.bios || boot.efi
            ? [{ path: '/boot/grub/grub.cfg', content: grubCfg({ rootUuid, ...(root.label ? { rootLabel: root.label } : {}), kernelArgs, ...(o.grubTimeout !== undefined ? { timeout: o.grubTimeout } : {}) }), mode: 0o644 }]
            : []),
        ],
        workDir: work,
        onLog: log,
      });
      if (!r.ok) return r;
      continue;
    } else if (p.spec.filesystem === 'vfat') {
      const r = await makeVfat({
        file,
        bytes: p.size,
        ...(p.spec.label ? { label: p.spec.label } : {}),
        volumeId: ids.vfatId(p.spec.name),
        files: p.spec.type === 'efi' ? espFiles : {},
        sourceDateEpoch: o.sourceDateEpoch,
        stageDir: path.join(work, `stage${p.number}`),
        onLog: log,
      });
      if (!r.ok) return r;
    } else if (p.spec.type === 'swap') {
      const r = await makeSwap(file, p.size, ids.fsUuid(p.spec.name), p.spec.label, log);
      if (!r.ok) return r;
    } else {
      continue;
    }
    fsFiles.set(p, file);
  }

  // The table, the other filesystems at their offsets, the boot loader.
  const table = await writePartitionTable(raw, layout, plan, ids, log);
  if (!table.ok) return table;
  for (const [p, file] of fsFiles) {
    const dd = await run('dd', [`if=${file}`, `of=${raw}`, 'bs=4M', `seek=${p.start}`, 'oflag=seek_bytes', 'conv=notrunc,sparse', 'status=none'], { onLog: log });
    if (!dd.ok) return dd;
    await rm(file);
  }
  if (boot.bios && coreImg && bootImg) {
    const bsp = plan.partitions.find((p) => p.spec.type === 'bios-boot');
    const coreSector = bsp ? bsp.start / SECTOR : 1;
    const areaSectors = bsp ? bsp.size / SECTOR : Math.min(...plan.partitions.map((p) => p.start)) / SECTOR - 1;
    const b = await installBiosBoot({ image: raw, bootImg, coreImg, coreSector, areaSectors }, log);
    if (!b.ok) return b;
  }
  if (o.onBlockDevice) {
    log('block-device.d: running the caller hook on the raw image');
    const hook = await o.onBlockDevice({ image: raw, plan, env: { IMAGE_BLOCK_DEVICE: raw, IMAGE_BLOCK_DEVICE_TYPE: 'file' } });
    if (!hook.ok) return hook;
  }

  // The files, in the result directory.
  await mkdir(o.resultDir, { recursive: true });
  const outputs: ImageOutput[] = [];
  for (const format of o.formats) {
    const file = path.join(o.resultDir, `${o.name}.${formatOf(format).extension}`);
    temps.push(file);
    const written = await writeFormat(raw, file, format, o.compression ?? 'zstd', o.qcow2Reuse, log);
    if (!written.ok) return written;
    const info = await imageInfo(file, format);
    if (!info.ok) return info;
    const size = (await stat(file)).size;
    log(`output: ${file} (${format}, ${size} bytes, virtual ${info.value.virtualSize})`);
    outputs.push({ path: file, format, size, virtualSize: info.value.virtualSize, ...(written.value ? { clusterIndex: written.value } : {}) });
  }

  return ok({
    outputs,
    layoutUsed: {
      layout,
      diskSize: plan.diskSize,
      partitions: plan.partitions.map((p) => ({
        number: p.number,
        name: p.spec.name,
        start: p.start,
        size: p.size,
        ...(p.spec.filesystem ? { filesystem: p.spec.filesystem, uuid: fsUuid(p) } : {}),
        ...(p.spec.label ? { label: p.spec.label } : {}),
        ...(layout.table === 'gpt' ? { partuuid: ids.partitionGuid(p.spec.name) as string } : {}),
      })),
      boot,
      rootFs: { bytes: rootPlaced.size, inodes: sizing.inodes, treeBytes: usage.value.apparentBytes, treeEntries: usage.value.entries },
    },
  });
}

/**
 * Writes the raw disk as `format` at `file`: raw copied sparse, compressed
 * qcow2 by our writer (taking unchanged clusters from `reuse`; its index is
 * returned), the rest by qemu-img.
 */
async function writeFormat(raw: string, file: string, format: ImageFormat, compression: Compression, reuse: AssembleOptions['qcow2Reuse'], log: LogFn): Promise<Result<string | undefined>> {
  const row = formatOf(format);
  if (row.qemu?.format === 'raw') {
    const cp = await run('cp', ['--sparse=always', raw, file], { onLog: log });
    return cp.ok ? ok(undefined) : cp;
  }
  if (row.compressedBy === 'imgfactory' && compression !== 'none') {
    const started = performance.now();
    const indexOut = `${file}.index`;
    const w = await writeQcow2({ raw, out: file, codec: compression, indexOut, ...(reuse ? { reuse } : {}) });
    log(`qcow2: ${compression} clusters compressed on ${defaultThreads()} thread(s) in ${((performance.now() - started) / 1000).toFixed(1)} s; ${w.reused} of ${w.compressed} reused`);
    return ok(indexOut);
  }
  const cv = await convertImage(raw, file, format, compression, log);
  return cv.ok ? ok(undefined) : cv;
}

/** Option checks that need no work: formats, name, sizes, the tree exists. */
async function checkOptions(o: AssembleOptions): Promise<Result<{ imageSize: number | undefined; extraSize: number }>> {
  const usage = (message: string): Result<never> => fail({ reason: 'usage', message });
  if (o.formats.length === 0) return usage('no output formats given');
  for (const f of o.formats) if (!IMAGE_FORMATS.includes(f)) return usage(`unknown image format '${f}' (known: ${IMAGE_FORMATS.join(', ')})`);
  if (new Set(o.formats).size !== o.formats.length) return usage(`a format is listed twice: ${o.formats.join(', ')}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(o.name)) return usage(`image name '${o.name}' must be a plain file name`);
  if (!Number.isSafeInteger(o.sourceDateEpoch) || o.sourceDateEpoch < 0) return usage(`sourceDateEpoch must be a whole number of seconds, got ${o.sourceDateEpoch}`);
  if (o.seed === '') return usage('seed must not be empty');
  for (const [what, n] of [['imageSize', o.imageSize], ['extraSize', o.extraSize]] as const) {
    if (n !== undefined && !(Number.isSafeInteger(n) && n >= 0)) return usage(`${what} must be a whole number of bytes, got ${n}`);
  }
  if (o.imageSize !== undefined && o.imageSize < 2 * ALIGN) return usage(`imageSize ${formatBytes(o.imageSize)} is too small for any disk`);
  const imageSize = o.imageSize === undefined ? undefined : Math.ceil(o.imageSize / MIB) * MIB;
  const extraSize = o.extraSize ?? 0;
  try {
    await readdir(o.rootDir);
  } catch (e) {
    return fail({ reason: 'io', what: `root tree ${o.rootDir}`, message: (e as Error).message });
  }
  return ok({ imageSize, extraSize });
}

/** Removes the files of a failed run (best effort). */
async function discard(paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}
