// Where the CLI writes: human messages to stderr (so stdout stays clean for
// --json and pipes), machine-readable documents to stdout. The only module
// besides the commands that prints.
import { signalExitCode } from '../failure.js';
import { interruptOnClosedPipe, interruptedBy } from '../process/interrupt.js';

export interface Output {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  /** One JSON document on stdout. */
  json(value: unknown): void;
  /** Plain text on stdout (e.g. `graph --format text`). */
  print(text: string): void;
}

/**
 * A reader that stops early (`imgfactory elements | head -1`) closes the pipe:
 * writing more fails with EPIPE. Like any Unix filter, stop quietly then,
 * with the exit code so far, instead of dying on an unhandled stream error.
 * A command with clean-up to do (build, boot, test) is interrupted instead,
 * and exits itself once it is done (process/interrupt.ts); a write that fails
 * after that exits with the interruption's code.
 */
export function endQuietlyOnClosedPipe(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      if (interruptOnClosedPipe()) return;
      const by = interruptedBy();
      process.exit(by ? signalExitCode(by) : typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }
}

export function consoleOutput(stream: NodeJS.WriteStream = process.stderr): Output {
  const color = stream.isTTY && !process.env.NO_COLOR;
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return {
    info: (line) => stream.write(`${line}\n`),
    warn: (line) => stream.write(`${paint('33', 'warning:')} ${line}\n`),
    error: (line) => stream.write(`${paint('31', 'error:')} ${line}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    print: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  };
}
