// A child's output stream copied raw into a log file and split into lines for
// a callback (UTF-8 decoded across chunk boundaries; a last line without a
// newline still counts). Used by run.ts (runLogged) and group.ts. With a
// mask, every line passes through it (as bytes) before it reaches the log or
// the callback: that is how secrets are kept out of logs (src/secrets/mask.ts).
import type { WriteStream } from 'node:fs';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';

export type Stream = 'stdout' | 'stderr';

/** Rewrites one line of output (its bytes, without the newline). */
export type LineMask = (line: Buffer) => Buffer;

export function pipeLines(
  stream: NodeJS.ReadableStream | null,
  name: Stream,
  log: WriteStream,
  onLine: ((stream: Stream, line: string) => void) | undefined,
  mask?: LineMask,
): void {
  if (stream === null) return;
  if (mask) return pipeMasked(stream, name, log, onLine, mask);
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (text: string): void => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine?.(name, line);
  };
  stream.on('data', (chunk: Buffer) => {
    log.write(chunk);
    emit(decoder.write(chunk));
  });
  stream.on('end', () => {
    emit(decoder.end());
    if (partial !== '') onLine?.(name, partial);
    partial = '';
  });
}

/** pipeLines with a mask: split into lines as bytes, so that a line is whole before it is masked and written. */
function pipeMasked(stream: NodeJS.ReadableStream, name: Stream, log: WriteStream, onLine: ((stream: Stream, line: string) => void) | undefined, mask: LineMask): void {
  let partial = Buffer.alloc(0);
  const emit = (line: Buffer, newline: boolean): void => {
    const masked = mask(line);
    log.write(newline ? Buffer.concat([masked, Buffer.from('\n')]) : masked);
    onLine?.(name, masked.toString('utf8'));
  };
  stream.on('data', (chunk: Buffer) => {
    let text = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
    for (let nl = text.indexOf(0x0a); nl >= 0; nl = text.indexOf(0x0a)) {
      emit(text.subarray(0, nl), true);
      text = text.subarray(nl + 1);
    }
    partial = Buffer.from(text);
  });
  stream.on('end', () => {
    if (partial.length > 0) emit(partial, false);
    partial = Buffer.alloc(0);
  });
}

/** Ends the log and waits until it is on disk. */
export async function closeLog(log: WriteStream): Promise<void> {
  if (log.closed) return;
  log.end();
  await once(log, 'close');
}
