// Runs one step and leaves its change in the step's upper directory: the base
// step bootstraps a fresh tree there; every other step runs in the sandbox on
// an overlay of the tree so far. A failing step becomes a Failure naming the
// element, phase, script, exit code and the tail of its log.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bootstrap } from '../distro/bootstrap.js';
import { FailureError, type Failure } from '../failure.js';
import { IN_TARGET_HOOKS } from '../plan/hook-env.js';
import { scriptName, type Step } from '../plan/step.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { tailLines } from '../util/tail.js';
import type { BuildDir } from './build-dir.js';
import type { EventSink } from './events.js';
import { HELPER_DIR, UNKNOWN_PACKAGE_EXIT, UNKNOWN_PACKAGE_MARK } from './helper-scripts.js';

export interface ExecContext {
  dir: BuildDir;
  sandbox: Sandbox;
  sourceDateEpoch: number | null;
  emit: EventSink;
  signal: AbortSignal;
}

export async function execStep(step: Step, runEnv: Record<string, string>, logFile: string, ctx: ExecContext): Promise<void> {
  const { dir } = ctx;
  const onLine = (stream: 'stdout' | 'stderr', line: string): void => ctx.emit({ type: 'step-line', step, stream, line });
  if (step.kind === 'base') {
    await bootstrap({
      distro: step.distro,
      target: dir.step.upper,
      logFile,
      sourceDateEpoch: ctx.sourceDateEpoch,
      onLine: (line) => onLine('stdout', line),
      signal: ctx.signal,
    });
    return;
  }
  const hooks = step.place === 'inside' ? IN_TARGET_HOOKS : dir.hooks;
  const helper = (name: string): string => path.join(hooks, HELPER_DIR, name);
  const argv =
    step.kind === 'hook'
      ? ['/bin/bash', helper('run-hook'), step.phase, scriptName(step)]
      : step.kind === 'packages'
        ? ['/bin/bash', helper('package-installs'), step.action, ...step.packages.map((p) => `${p.name}=${p.element}`)]
        : ['/bin/bash', helper('finalise-tree')];
  const outcome = await ctx.sandbox.run({
    lowerDir: dir.tree,
    upperDir: dir.step.upper,
    workDir: dir.step.work,
    mergedDir: dir.step.merged,
    inside: step.place === 'inside',
    argv,
    env: runEnv,
    binds: step.place === 'inside' ? [{ source: dir.hooks, target: IN_TARGET_HOOKS, readOnly: true }] : [],
    resolver: true,
    hostname: 'imgfactory',
    onLine,
    logFile,
    signal: ctx.signal,
  });
  if (ctx.signal.aborted) throw new FailureError({ reason: 'interrupted', signal: String(ctx.signal.reason ?? 'SIGTERM') });
  if (outcome.exitCode === 0) return;
  throw new FailureError(await stepFailure(step, outcome, logFile));
}

async function stepFailure(step: Exclude<Step, { kind: 'base' }>, outcome: { exitCode: number | null; signal: string | null }, logFile: string): Promise<Failure> {
  if (step.kind === 'packages' && outcome.exitCode === UNKNOWN_PACKAGE_EXIT) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const names = [...log.matchAll(new RegExp(`${UNKNOWN_PACKAGE_MARK} (\\S+) \\(element (\\S+)\\)`, 'g'))].map((m) => ({ name: m[1]!, element: m[2]! }));
    if (names.length > 0) return { reason: 'unknown-package', packages: names, phase: step.phase, logPath: logFile };
  }
  return {
    reason: 'hook-failed',
    element: step.kind === 'hook' ? step.element : step.kind === 'packages' ? 'package-installs' : 'imgfactory',
    phase: step.phase,
    script: scriptName(step),
    exitCode: outcome.exitCode,
    ...(outcome.signal ? { signal: outcome.signal } : {}),
    logTail: await tailLines(logFile, 20),
    logPath: logFile,
  };
}
