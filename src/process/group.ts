// Runs one command as the leader of its own process group, streams its output
// line by line to a callback and raw into a log file, and kills the whole
// group on request: SIGTERM first, SIGKILL after a grace period, so a command
// that traps or ignores SIGTERM still dies. The child (from run.ts) gets a
// fourth pipe (fd 3) whose far end only we hold, so it can tell when we are gone.
import { createWriteStream } from 'node:fs';
import { closeLog, pipeLines, type LineMask, type Stream } from './lines.js';
import { spawnDetached } from './run.js';

export type { LineMask, Stream } from './lines.js';

export interface GroupOptions {
  env: Record<string, string>;
  logFile: string;
  onLine?: (stream: Stream, line: string) => void;
  /** Applied to every line before it reaches the log or onLine (secrets masked). */
  mask?: LineMask;
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
  // fd 3 is the lifeline: ns-init kills its group when it reads EOF there, i.e. when we die.
  const child = spawnDetached(file, args, options.env);
  const { pid, exited } = child;
  pipeLines(child.stdout, 'stdout', log, options.onLine, options.mask);
  pipeLines(child.stderr, 'stderr', log, options.onLine, options.mask);

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
      await child.drained;
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
