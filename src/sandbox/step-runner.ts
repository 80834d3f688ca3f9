// What both sandboxes do once their mounts are planned: start ns-init as the
// leader of a new process group, follow it to the end or kill it on abort (or
// when imgfactory is interrupted: process/interrupt.ts), and read how the
// command ended.
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { interruption } from '../process/interrupt.js';
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
 * Runs `body` with one abort signal that fires on step.signal or when
 * imgfactory is interrupted; `body` undoes what it made either way, and the
 * interrupted build unwinds only after it has.
 */
export function guarded<T>(step: StepRun, body: (stop: AbortSignal) => Promise<T>): Promise<T> {
  return body(step.signal ? AbortSignal.any([step.signal, interruption]) : interruption);
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

/** What ns-init wrote; undefined when it wrote nothing whole (it died first, or the disk was full): then the leader's exit counts. */
async function readStatus(file: string): Promise<InitStatus | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  try {
    return text === undefined ? undefined : (JSON.parse(text) as InitStatus);
  } catch {
    return undefined;
  }
}
