// A child's output stream copied raw into a log file and split into lines for
// a callback (UTF-8 decoded across chunk boundaries; a last line without a
// newline still counts). Used by run.ts (runLogged) and group.ts.
import type { WriteStream } from 'node:fs';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';

export type Stream = 'stdout' | 'stderr';

export function pipeLines(
  stream: NodeJS.ReadableStream | null,
  name: Stream,
  log: WriteStream,
  onLine: ((stream: Stream, line: string) => void) | undefined,
): void {
  if (stream === null) return;
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

/** Ends the log and waits until it is on disk. */
export async function closeLog(log: WriteStream): Promise<void> {
  if (log.closed) return;
  log.end();
  await once(log, 'close');
}
