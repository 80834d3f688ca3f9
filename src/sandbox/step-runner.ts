// What both sandboxes do once their mounts are planned: start ns-init as the
// leader of a new process group, follow it to the end or kill it on abort (or
// on imgfactory's own SIGINT/SIGTERM), and read how the command ended.
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { whileRunning } from './interrupts.js';
import { INIT_ENV, NS_INIT_SOURCE, writeInitSpec, type InitSpec, type InitStatus } from './ns-init.js';
import { startGroup } from '../process/group.js';
import { processIdOf } from './processes.js';
import type { StateRecord } from './state.js';
import type { StepOutcome, StepRun } from './step.js';

/** How long a command gets between SIGTERM and SIGKILL. */
export const GRACE_MS = 3000;

export interface Launch {
  /** Program and arguments that precede `node -e <ns-init> <spec>` (e.g. unshare and its flags); empty: run node directly. */
  prefix: string[];
  spec: Omit<InitSpec, 'statusFile'>;
  /** Called after the group leader exited, before its output is drained: kill what it left behind. */
  afterExit: () => Promise<void>;
}

/**
 * Runs `body` with one abort signal that fires on step.signal or on
 * imgfactory's own SIGINT/SIGTERM; in the latter case the process exits only
 * after `body` (and so its clean-up) has finished.
 */
export async function guarded<T>(step: StepRun, body: (stop: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  if (step.signal?.aborted) stop.abort();
  step.signal?.addEventListener('abort', onAbort, { once: true });
  const done = body(stop.signal);
  const unregister = whileRunning(async () => {
    stop.abort();
    await done.catch(() => undefined);
  });
  try {
    return await done;
  } finally {
    step.signal?.removeEventListener('abort', onAbort);
    unregister();
  }
}

/** Starts ns-init in a new process group and follows it until it and its output are done. */
export async function runLaunch(step: StepRun, record: StateRecord, launch: Launch, stop: AbortSignal): Promise<StepOutcome> {
  const statusFile = path.join(record.state.scratchDir, 'status.json');
  const specFile = path.join(record.state.scratchDir, 'init.json');
  await writeInitSpec(specFile, { ...launch.spec, statusFile });
  await appendFile(step.logFile, '').catch((e: Error) => {
    throw new FailureError({ reason: 'io', what: `log file ${step.logFile}`, message: e.message });
  });
  const initArgs = ['-e', NS_INIT_SOURCE, specFile];
  const [file, ...args] = [...launch.prefix, process.execPath, ...initArgs];
  if (stop.aborted) return { exitCode: null, signal: 'SIGKILL' };

  const group = startGroup(file as string, args, { env: INIT_ENV, logFile: step.logFile, onLine: step.onLine });
  await record.setGroup(await processIdOf(group.pid));
  const aborted = new Promise<'aborted'>((resolve) => {
    if (stop.aborted) resolve('aborted');
    stop.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  if ((await Promise.race([group.exited, aborted])) === 'aborted') await group.terminate(GRACE_MS);
  group.killRest();
  await launch.afterExit();
  await group.finished();
  const leader = await group.exited;
  const status = await readStatus(statusFile);
  if (status !== undefined && 'setupError' in status) {
    throw new FailureError({ reason: 'io', what: 'sandbox setup', message: status.setupError });
  }
  return status ?? leader;
}

async function readStatus(file: string): Promise<InitStatus | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as InitStatus);
}
