// Output formats through qemu-img: raw is the assembled file itself; qcow2
// (compat 1.1, compressed unless switched off), vmdk, vpc (VHD) and vhdx are
// converted from it. `qemu-img info` reads back what was written.
import { fail, ok, type Result } from '../failure.js';
import { run, type LogFn } from '../process/run.js';

export type ImageFormat = 'raw' | 'qcow2' | 'vmdk' | 'vpc' | 'vhdx';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['raw', 'qcow2', 'vmdk', 'vpc', 'vhdx'];

/** File name extension per format (vpc is the VHD format). */
export const EXTENSION: Record<ImageFormat, string> = { raw: 'raw', qcow2: 'qcow2', vmdk: 'vmdk', vpc: 'vhd', vhdx: 'vhdx' };

/**
 * Whether the same raw input gives the same bytes. vmdk gets a random CID and
 * vpc/vhdx a creation timestamp or GUIDs from qemu-img, which has no option to
 * pin them.
 */
export const REPRODUCIBLE: Record<ImageFormat, boolean> = { raw: true, qcow2: true, vmdk: false, vpc: false, vhdx: false };

/** Converts the raw image to `format` at `out`. `compress` applies to qcow2 (zlib clusters) and vmdk (streamOptimized). */
export async function convertImage(raw: string, out: string, format: Exclude<ImageFormat, 'raw'>, compress: boolean, onLog?: LogFn): Promise<Result<void>> {
  const args = ['convert', '-f', 'raw', '-O', format];
  switch (format) {
    case 'qcow2':
      args.push('-o', 'compat=1.1');
      if (compress) args.push('-c');
      break;
    case 'vmdk':
      args.push('-o', compress ? 'subformat=streamOptimized' : 'subformat=monolithicSparse');
      break;
    case 'vpc':
      // force_size keeps the virtual size exact instead of rounding to CHS geometry.
      args.push('-o', 'subformat=dynamic,force_size=on');
      break;
    case 'vhdx':
      break;
  }
  args.push(raw, out);
  const r = await run('qemu-img', args, { onLog });
  return r.ok ? ok(undefined) : r;
}

export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
}

export async function imageInfo(file: string, format?: ImageFormat): Promise<Result<ImageInfo>> {
  const r = await run('qemu-img', ['info', '--output=json', ...(format ? ['-f', format] : []), file]);
  if (!r.ok) return r;
  try {
    const j = JSON.parse(r.value.stdout) as { format: string; 'virtual-size': number; 'actual-size': number };
    return ok({ format: j.format, virtualSize: j['virtual-size'], actualSize: j['actual-size'] });
  } catch (e) {
    return fail({ reason: 'tool-failed', tool: 'qemu-img', args: ['info', file], exitCode: 0, stderrTail: [(e as Error).message] });
  }
}
