// Extended attributes of many files at once. Node has no xattr API, so this
// drives attr's getfattr/setfattr with batches of paths (a handful of
// processes per tree, never one per file) and parses/writes their dump format:
//
//   # file: /abs/path\012with\134escapes      (octal escapes: getfattr's quote())
//   user.name=0sBASE64VALUE                   (-e base64; '0s' alone = empty)
//   <blank line>
import path from 'node:path';
import { run } from '../process/run.js';

/** Name -> value, sorted by name. */
export type XattrList = Array<readonly [string, Buffer]>;

/** Bytes of paths per getfattr/setfattr call (well below ARG_MAX). */
const BATCH_BYTES = 512 * 1024;

/**
 * Reads every xattr (all namespaces) of `absPaths` without following symlinks.
 * Returns only the paths that have at least one attribute.
 */
export async function readXattrs(absPaths: readonly string[]): Promise<Map<string, XattrList>> {
  const out = new Map<string, XattrList>();
  for (const batch of batches(absPaths)) {
    parseDump(await attrTool('getfattr', ['-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', ...batch]), out);
  }
  return out;
}

/** Parses getfattr's dump format into `into` (path -> sorted attributes). */
export function parseDump(dump: Buffer, into: Map<string, XattrList>): void {
  let current: string | undefined;
  let attrs: XattrList = [];
  const flush = (): void => {
    if (current !== undefined && attrs.length > 0) {
      into.set(current, attrs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    }
    attrs = [];
  };
  for (const line of dump.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      flush();
      current = unquote(line.slice('# file: '.length));
    } else if (line.length > 0 && current !== undefined) {
      const eq = line.indexOf('=');
      const name = unquote(eq < 0 ? line : line.slice(0, eq));
      const raw = eq < 0 ? '' : line.slice(eq + 1);
      attrs.push([name, decodeValue(raw)]);
    }
  }
  flush();
}

function decodeValue(raw: string): Buffer {
  if (raw.startsWith('0s')) return Buffer.from(raw.slice(2), 'base64');
  if (raw.startsWith('0x')) return Buffer.from(raw.slice(2), 'hex');
  if (raw.startsWith('"') && raw.endsWith('"')) return Buffer.from(unquote(raw.slice(1, -1)), 'utf8');
  return Buffer.from(raw, 'latin1');
}

/** Undoes getfattr's `\ooo` escapes; `s` holds the raw bytes as latin1. */
export function unquote(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c && i + 3 < s.length && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Escapes a path or name for setfattr's restore format. */
export function quote(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte <= 0x20 || byte === 0x5c || byte === 0x3d || byte >= 0x7f) {
      out += '\\' + byte.toString(8).padStart(3, '0');
    } else {
      out += String.fromCharCode(byte);
    }
  }
  return out;
}

/** Sets attributes (without following symlinks) with one `setfattr --restore` per batch. */
export async function writeXattrs(items: ReadonlyArray<readonly [string, Readonly<XattrList>]>): Promise<void> {
  let chunk: string[] = [];
  let bytes = 0;
  const run = async (): Promise<void> => {
    if (chunk.length === 0) return;
    await attrTool('setfattr', ['-h', '--restore=-'], chunk.join(''));
    chunk = [];
    bytes = 0;
  };
  for (const [absPath, attrs] of items) {
    if (!path.isAbsolute(absPath)) throw new Error(`writeXattrs needs absolute paths: ${absPath}`);
    let block = `# file: ${quote(absPath)}\n`;
    for (const [name, value] of attrs) block += `${quote(name)}=0s${value.toString('base64')}\n`;
    block += '\n';
    chunk.push(block);
    bytes += block.length;
    if (bytes > 8 * BATCH_BYTES) await run();
  }
  await run();
}

/** Removes attributes `names` (each of which every path has) from `absPaths`: one setfattr per name and batch of paths. */
export async function removeXattrs(absPaths: readonly string[], names: readonly string[]): Promise<void> {
  for (const name of names) {
    for (const batch of batches(absPaths)) await attrTool('setfattr', ['-h', '-x', name, '--', ...batch]);
  }
}

/**
 * Runs getfattr/setfattr and returns its stdout; a failure is thrown as a plain
 * Error (`<tool> failed (<exit>): <stderr>`), which the layer code reports as
 * an io failure of the tree it was reading or writing.
 */
async function attrTool(tool: 'getfattr' | 'setfattr', args: string[], input?: string): Promise<Buffer> {
  const r = await run(tool, args, { binary: true, check: false, ...(input === undefined ? {} : { input }) });
  if (!r.ok) throw new Error(`${tool} failed: ${r.error.reason === 'tool-failed' ? r.error.stderrTail.join('\n') : r.error.reason}`);
  if (r.value.exitCode !== 0) throw new Error(`${tool} failed (${r.value.exitCode}): ${r.value.stderr.slice(0, 500)}`);
  return r.value.stdoutBytes;
}

function* batches(paths: readonly string[]): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const p of paths) {
    if (bytes + p.length + 1 > BATCH_BYTES && batch.length > 0) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(p);
    bytes += Buffer.byteLength(p) + 1;
  }
  if (batch.length > 0) yield batch;
}
