// Runs one command as the leader of its own process group, streams its output
// line by line to a callback and raw into a log file, and kills the whole
// group on request: SIGTERM first, SIGKILL after a grace period, so a command
// that traps or ignores SIGTERM still dies. The child gets a fourth pipe (fd 3)
// whose far end only we hold, so it can tell when we are gone.
import { execa } from 'execa';
import { createWriteStream, type WriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { once } from 'node:events';

export type Stream = 'stdout' | 'stderr';

export interface GroupOptions {
  env: Record<string, string>;
  logFile: string;
  onLine?: (stream: Stream, line: string) => void;
}

/** A running process group; `exited` settles when the leader exits, `finished` when its output is drained too. */
export interface ProcessGroup {
  readonly pid: number;
  readonly exited: Promise<{ exitCode: number | null; signal: string | null }>;
  finished(): Promise<void>;
  /** SIGTERM to the group, SIGKILL after graceMs if the leader has not exited; resolves once it has. */
  terminate(graceMs: number): Promise<void>;
  /** SIGKILL to whatever is left in the group (after the leader exited). */
  killRest(): void;
}

export function startGroup(file: string, args: string[], options: GroupOptions): ProcessGroup {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  log.on('error', () => undefined); // checked before the start (step-runner); a later disk error must not crash the build
  const child = execa(file, args, {
    env: options.env,
    extendEnv: false,
    detached: true,
    // fd 3 is the lifeline: ns-init kills its group when it reads EOF there, i.e. when we die.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    buffer: false,
    reject: false,
    stripFinalNewline: false,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${file}`);
  const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  pipeLines(child.stdout, 'stdout', log, options.onLine);
  pipeLines(child.stderr, 'stderr', log, options.onLine);
  const drained = child.then(() => undefined);

  let gone = false;
  void exited.then(() => (gone = true));
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: nothing left in the group
    }
  };
  return {
    pid,
    exited,
    async finished() {
      await drained;
      await closeLog(log);
    },
    async terminate(graceMs) {
      if (gone) return;
      signalGroup('SIGTERM');
      const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'late') signalGroup('SIGKILL');
      await exited;
    },
    killRest() {
      signalGroup('SIGKILL');
    },
  };
}

function pipeLines(
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

async function closeLog(log: WriteStream): Promise<void> {
  if (log.closed) return;
  log.end();
  await once(log, 'close');
}
