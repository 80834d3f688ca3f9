// qemu-img, the writer of every disk format but raw: `qemu-img convert` from
// the assembled raw disk with the options the format's row gives
// (src/output/formats.ts), `qemu-img info` to read back what was written, and
// `qemu-img create -b` for the overlay a booted node writes to.
import { fail, ok, type Result } from '../failure.js';
import { formatOf, type Compression, type ImageFormat } from '../output/formats.js';
import { run, type LogFn } from '../process/run.js';

/** Converts the raw image to `format` at `out` with the row's options for `compression` (zstd where the format has it, else its compressed ones). */
export async function convertImage(raw: string, out: string, format: ImageFormat, compression: Compression, onLog?: LogFn): Promise<Result<void>> {
  const { options, format: qemuFormat } = formatOf(format).qemu!;
  const chosen = compression === 'none' ? options.uncompressed : compression === 'zstd' ? (options.zstd ?? options.compressed) : options.compressed;
  const args = ['convert', '-f', 'raw', '-O', qemuFormat, ...chosen, raw, out];
  const r = await run('qemu-img', args, { onLog });
  return r.ok ? ok(undefined) : r;
}

export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
}

/** What qemu-img reads from `file`; `format` (an output format's recorded name) pins the format instead of probing. */
export async function imageInfo(file: string, format?: ImageFormat): Promise<Result<ImageInfo>> {
  const pinned = format ? ['-f', formatOf(format).qemu!.format] : [];
  const r = await run('qemu-img', ['info', '--output=json', ...pinned, file]);
  if (!r.ok) return r;
  try {
    const j = JSON.parse(r.value.stdout) as { format: string; 'virtual-size': number; 'actual-size': number };
    return ok({ format: j.format, virtualSize: j['virtual-size'], actualSize: j['actual-size'] });
  } catch (e) {
    return fail({ reason: 'tool-failed', tool: 'qemu-img', args: ['info', file], exitCode: 0, stderrTail: [(e as Error).message] });
  }
}

/** Converts `src` (in `from`) to `format` at `out`, uncompressed: for a cloud that wants another format than the build wrote. */
export async function convertBetween(src: string, from: ImageFormat, out: string, format: ImageFormat, onLog?: LogFn): Promise<Result<void>> {
  const to = formatOf(format).qemu!;
  const r = await run('qemu-img', ['convert', '-f', formatOf(from).qemu!.format, '-O', to.format, ...to.options.uncompressed, src, out], { onLog });
  return r.ok ? ok(undefined) : r;
}

/** Whether two images hold the same guest-visible bytes (`qemu-img compare`, exit 0 same, 1 different). */
export async function sameContent(a: string, aFormat: ImageFormat, b: string, bFormat: ImageFormat): Promise<Result<boolean>> {
  const r = await run('qemu-img', ['compare', '-f', formatOf(aFormat).qemu!.format, '-F', formatOf(bFormat).qemu!.format, a, b], { check: false });
  if (!r.ok) return r;
  if (r.value.exitCode === 0 || r.value.exitCode === 1) return ok(r.value.exitCode === 0);
  return fail({ reason: 'tool-failed', tool: 'qemu-img', args: ['compare', a, b], exitCode: r.value.exitCode, stderrTail: r.value.stderr.trim().split('\n').slice(-5) });
}

/** A qcow2 file at `out` whose reads fall through to `backing` (never written), of `bytes` virtual size. */
export async function overlayImage(backing: string, backingQemuFormat: string, out: string, bytes: number): Promise<Result<void>> {
  const r = await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', backingQemuFormat, '-b', backing, out, String(bytes)]);
  return r.ok ? ok(undefined) : r;
}
