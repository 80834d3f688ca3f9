// What both sandboxes do once their mounts are planned: start ns-init as the
// leader of a new process group, follow it to the end or kill it on abort (or
// when imgfactory is interrupted: process/interrupt.ts), and read how the
// command ended.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { interruption } from '../process/interrupt.js';
import { INIT_ENV, NS_INIT_SOURCE, writeInitSpec, type InitSpec, type InitStatus } from './ns-init.js';
import { startGroup } from '../process/group.js';
import { processIdOf } from './processes.js';
import type { StateRecord } from './state.js';
import { secretMask } from '../secrets/mask.js';
import type { Secret } from '../secrets/secret.js';
import { scratchLayout, type StepOutcome, type StepRun } from './step.js';

/** How long a command gets between SIGTERM and SIGKILL. */
export const GRACE_MS = 3000;

export interface Launch {
  /** Program and arguments that precede `node -e <ns-init> <spec>` (e.g. unshare and its flags); empty: run node directly. */
  prefix: string[];
  spec: Omit<InitSpec, 'statusFile' | 'secrets'>;
  /** Where the step's secrets go (the tmpfs the mount plan made for them), null without secrets. */
  secretsDir: string | null;
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
  const initDir = scratchLayout(record.state.scratchDir).init;
  await mkdir(initDir, { recursive: true });
  const statusFile = path.join(initDir, 'status.json');
  const specFile = path.join(record.state.scratchDir, 'init.json');
  const secrets = secretHandover(step.secrets ?? [], launch.secretsDir);
  await writeInitSpec(specFile, { ...launch.spec, statusFile, secrets: secrets.spec });
  await appendFile(step.logFile, '').catch((e: Error) => {
    throw new FailureError({ reason: 'io', what: `log file ${step.logFile}`, message: e.message });
  });
  const initArgs = ['-e', NS_INIT_SOURCE, specFile];
  const [file, ...args] = [...launch.prefix, process.execPath, ...initArgs];
  if (stop.aborted) return { exitCode: null, signal: 'SIGKILL' };

  const mask = secretMask(step.secrets ?? []);
  const group = startGroup(file as string, args, { env: { ...INIT_ENV, ...secrets.env }, logFile: step.logFile, ...(step.onLine ? { onLine: step.onLine } : {}), ...(mask ? { mask } : {}) });
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

/**
 * How the secrets reach ns-init: their values in its environment (which only
 * root can read, in /proc), the spec file saying where each goes. A value
 * never lies on disk outside the tmpfs it is written to.
 */
function secretHandover(secrets: readonly Secret[], dir: string | null): { spec: InitSpec['secrets']; env: Record<string, string> } {
  if (secrets.length === 0) return { spec: null, env: {} };
  if (dir === null) throw new Error('a step with secrets needs the tmpfs of its mount plan');
  const env: Record<string, string> = {};
  const items = secrets.map((s, i) => {
    env[`IMGFACTORY_SECRET_${i}`] = s.reveal().toString('base64');
    if (!s.exported) return { id: s.id, fileVar: `IMGFACTORY_SECRET_${i}` };
    env[`IMGFACTORY_SECRET_ENV_${i}`] = s.envText();
    return { id: s.id, fileVar: `IMGFACTORY_SECRET_${i}`, envVar: `IMGFACTORY_SECRET_ENV_${i}` };
  });
  return { spec: { dir, items }, env };
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
