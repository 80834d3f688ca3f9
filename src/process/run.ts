// The one way imgfactory runs a program (in the manner of mkosi's run.py), and
// the only module that imports the process library. Every run logs its command
// line to the caller's log, runs with LC_ALL=C unless told otherwise, obeys an
// abort signal and an optional timeout, and ends as a value: the output, or a
// `tool-failed` Failure naming the tool with the tail of what it printed.
// Every program dies with imgfactory, even a killed one (tether.ts), and
// stops when imgfactory is interrupted (interrupt.ts).
//
//   run(tool, args)        output captured in memory (text or bytes)
//   runLogged(tool, args)  output appended to a log file and passed on line by
//                          line; a failure carries the log's tail
//   spawnDetached(...)     a process-group leader for the sandbox (group.ts)
import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { FailureError, fail, ok, type Failure, type Result } from '../failure.js';
import { tailLines } from '../util/tail.js';
import { interruption } from './interrupt.js';
import { closeLog, pipeLines, type Stream } from './lines.js';
import { resolveTool, tethered } from './tether.js';

/** Lines of stderr (or of the log) a failure carries. */
const TAIL_LINES = 15;

/** Where a caller's command lines (and its own notes) go. */
export type LogFn = (line: string) => void;

export interface RunOptions {
  /** Added to the environment; LC_ALL=C is set unless this names LC_ALL itself. */
  env?: Record<string, string | undefined>;
  /** Start from imgfactory's own environment (default true); false: only `env` and LC_ALL. */
  extendEnv?: boolean;
  /** Fed to stdin; without it stdin is closed. */
  input?: string | Buffer;
  cwd?: string;
  /** Stdout is only wanted as bytes (an image): `stdout` stays empty. */
  binary?: boolean;
  /** Receives the command line (`$ tool args...`) before the program starts. */
  onLog?: LogFn;
  /** Aborting kills the program; the run ends as an `interrupted` failure. So does imgfactory's interruption (interrupt.ts). */
  signal?: AbortSignal;
  /** false: imgfactory's interruption does not stop it — for the clean-up that runs after one (unmounting). Default true. */
  interruptible?: boolean;
  /** Milliseconds before the program is killed (SIGTERM) and the run fails. */
  timeout?: number;
  /**
   * false: a non-zero exit is not a failure, the caller reads `exitCode` itself
   * (mkosi's check=False). A program that cannot start or times out still fails.
   */
  check?: boolean;
}

export interface RunOutput {
  /** Stdout as UTF-8 text ('' when `binary`). */
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
  /** 0 unless `check: false`. */
  exitCode: number | null;
  signal: string | null;
}

/** Runs `tool args...` to its end; see RunOptions. */
export async function run(tool: string, args: string[], opts: RunOptions = {}): Promise<Result<RunOutput>> {
  opts.onLog?.(commandLine(tool, args));
  const start = startable(tool, args, opts);
  if (!start.ok) return start;
  const [file, argv] = start.value;
  const r = await execa(file, argv, {
    ...commonOptions(opts),
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  const stdoutBytes = Buffer.from(r.stdout as Uint8Array);
  const stderr = Buffer.from(r.stderr as Uint8Array).toString('utf8');
  const ended = { exitCode: r.exitCode ?? null, signal: r.signal ?? null };
  const stopped = r.failed ? stoppedFailure(opts) : null;
  if (stopped) return fail(stopped);
  if (r.failed && (opts.check !== false || !ran(r) || r.timedOut)) {
    return fail(toolFailed(tool, args, ended, lastLines(stderr), r.timedOut ? opts.timeout : undefined, r.code));
  }
  return ok({ stdout: opts.binary ? '' : stdoutBytes.toString('utf8'), stdoutBytes, stderr, ...ended });
}

/** run(), throwing the Failure: for code that has no Result to return (streams, callbacks, void helpers). */
export async function mustRun(tool: string, args: string[], opts: RunOptions = {}): Promise<RunOutput> {
  const r = await run(tool, args, opts);
  if (!r.ok) throw new FailureError(r.error);
  return r.value;
}

export interface LoggedOptions extends Omit<RunOptions, 'input' | 'binary' | 'check'> {
  /** Stdout and stderr, interleaved as printed, are appended here. */
  logFile: string;
  /** Each non-blank line of output, without its newline. */
  onLine?: (line: string) => void;
}

/** Runs `tool args...` with its output going to a log file; a failure carries the log's last lines. */
export async function runLogged(tool: string, args: string[], opts: LoggedOptions): Promise<Result<{ exitCode: number }>> {
  opts.onLog?.(commandLine(tool, args));
  const start = startable(tool, args, opts);
  if (!start.ok) return start;
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  log.on('error', () => undefined); // a full disk must not crash the build; the exit status still counts
  const child = execa(...start.value, { ...commonOptions(opts), stdin: 'ignore', buffer: false });
  const onLine = (_stream: Stream, line: string): void => {
    if (line.trim() !== '') opts.onLine?.(line);
  };
  pipeLines(child.stdout, 'stdout', log, onLine);
  pipeLines(child.stderr, 'stderr', log, onLine);
  const r = await child;
  await closeLog(log);
  if (!r.failed) return ok({ exitCode: 0 });
  const stopped = stoppedFailure(opts);
  if (stopped) return fail(stopped);
  const ended = { exitCode: r.exitCode ?? null, signal: r.signal ?? null };
  return fail(toolFailed(tool, args, ended, await tailLines(opts.logFile, TAIL_LINES), r.timedOut ? opts.timeout : undefined, r.code));
}

/** A child started by spawnDetached: the leader of a new process group. */
export interface DetachedChild {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles when the leader exits (its output may still be flowing). */
  readonly exited: Promise<{ exitCode: number | null; signal: string | null }>;
  /** Settles when the leader exited and its output is drained. */
  readonly drained: Promise<void>;
}

/**
 * Starts `file args...` as the leader of a new process group with exactly
 * `env`, stdout and stderr as pipes, and a fourth pipe (fd 3) whose far end
 * only this process holds. The caller reads the output and signals the group.
 */
export function spawnDetached(file: string, args: string[], env: Record<string, string>): DetachedChild {
  const child = execa(file, args, {
    env,
    extendEnv: false,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    buffer: false,
    reject: false,
    stripFinalNewline: false,
  });
  const pid = child.pid;
  if (pid === undefined || child.stdout === null || child.stderr === null) throw new Error(`could not start ${file}`);
  const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  return { pid, stdout: child.stdout, stderr: child.stderr, exited, drained: child.then(() => undefined) };
}

/** The Failure of a program that ran and failed; exported for callers that judge the exit themselves (`check: false`). */
export function toolFailed(
  tool: string,
  args: string[],
  ended: { exitCode: number | null; signal: string | null },
  tail: string[],
  timeoutMs?: number,
  code?: string,
): Failure {
  const stderrTail = [...tail];
  if (code === 'ENOENT') stderrTail.push(`${tool}: not found on this host (run scripts/setup)`);
  if (timeoutMs !== undefined) stderrTail.push(`${tool}: killed after a timeout of ${timeoutMs / 1000} s`);
  return {
    reason: 'tool-failed',
    tool,
    args,
    exitCode: ended.exitCode,
    ...(ended.signal === null ? {} : { signal: ended.signal }),
    stderrTail,
  };
}

/** The last lines of captured stderr, for a failure. */
export function lastLines(text: string, count = TAIL_LINES): string[] {
  return text.trim().split('\n').slice(-count);
}

function commandLine(tool: string, args: string[]): string {
  return `$ ${[tool, ...args].join(' ')}`;
}

/**
 * The tethered command line (tether.ts) of `tool`, found on the PATH the
 * program gets; a tool that is not there fails as not found, as an execa
 * ENOENT did.
 */
function startable(tool: string, args: string[], opts: RunOptions): Result<[string, string[]]> {
  const inherited = opts.extendEnv === false ? {} : process.env;
  const file = resolveTool(tool, opts.env?.PATH ?? inherited.PATH);
  if (file === undefined) return fail(toolFailed(tool, args, { exitCode: null, signal: null }, [], undefined, 'ENOENT'));
  return ok(tethered(file, args, (opts.env?.PWD ?? inherited.PWD) !== undefined));
}

/** What stops a run: the caller's signal and, unless it is clean-up, imgfactory's interruption. */
function stopSignal(opts: RunOptions): AbortSignal | undefined {
  const signals = [opts.signal, opts.interruptible === false ? undefined : interruption].filter((s): s is AbortSignal => s !== undefined);
  return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
}

/** What every run shares: no throwing, LC_ALL=C under the caller's env, cwd, abort and timeout. */
function commonOptions(opts: RunOptions) {
  const stop = stopSignal(opts);
  return {
    reject: false,
    env: { LC_ALL: 'C', ...opts.env },
    extendEnv: opts.extendEnv ?? true,
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(stop === undefined ? {} : { cancelSignal: stop }),
    ...(opts.timeout === undefined ? {} : { timeout: opts.timeout }),
  } as const;
}

/** A program that never started (ENOENT, EACCES) has no exit code to judge. */
function ran(r: { exitCode?: number; signal?: string }): boolean {
  return r.exitCode !== undefined || r.signal !== undefined;
}

function stoppedFailure(opts: RunOptions): Failure | null {
  const stop = stopSignal(opts);
  return stop?.aborted ? { reason: 'interrupted', signal: String(stop.reason ?? 'SIGTERM') } : null;
}
