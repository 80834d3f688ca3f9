// Cleaning up after a build that was killed outright (SIGKILL, power loss of
// the process): the state records of dead builds name their mounts, process
// groups and scratch dirs; /proc/self/mountinfo is cross-checked for any other
// mount under the build root that no live build claims. Everything found is
// killed, unmounted (deepest first) or removed, and reported.
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { readMountInfo, mountsUnder } from './mountinfo.js';
import { unmount } from './mounts.js';
import { isAlive, killGroupOf, killProcessesIn } from './processes.js';
import { STATE_VERSION, stateDirOf, type StepState } from './state.js';

/**
 * Undoes what dead builds left under `buildRoot` (their records are read from
 * `stateDir`, by default the build root itself, as passed to chooseSandbox).
 * Returns one message per thing cleaned.
 */
export async function recoverStale(buildRoot: string, stateDir: string = buildRoot): Promise<string[]> {
  const messages: string[] = [];
  const dir = stateDirOf(stateDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const claimed = new Set<string>();
  const records = new Set<string>();
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const file = path.join(dir, name);
    records.add(name.slice(0, -'.json'.length));
    const state = await readState(file);
    if (state === undefined) {
      await rm(file, { force: true });
      messages.push(`removed unreadable sandbox record ${file}`);
      continue;
    }
    if (await isAlive(state.owner)) {
      for (const target of state.mounts) claimed.add(target);
      continue;
    }
    messages.push(...(await cleanRecord(state)));
    await rm(file, { force: true });
  }
  // Scratch dirs whose record is gone (a crash between the two removals).
  for (const name of names.filter((n) => /^\d+-\d+$/.test(n) && !records.has(n))) {
    await rm(path.join(dir, name), { recursive: true, force: true });
  }
  for (const entry of mountsUnder(await readMountInfo(), path.resolve(buildRoot))) {
    if ([...claimed].some((t) => t === entry.mountPoint)) continue;
    await killProcessesIn(entry.mountPoint);
    const how = await unmount(entry.mountPoint);
    if (how !== 'absent') messages.push(`unmounted stale ${entry.fsType} mount ${entry.mountPoint}${how === 'lazy' ? ' (lazily: busy)' : ''}`);
  }
  return messages;
}

async function cleanRecord(state: StepState): Promise<string[]> {
  const messages: string[] = [];
  const who = `build pid ${state.owner.pid}`;
  if (state.group !== undefined && (await killGroupOf(state.group))) {
    messages.push(`killed the process group ${state.group.pid} of a step left by ${who}`);
  }
  const killed = await killProcessesIn(state.mergedDir);
  if (killed.length > 0) messages.push(`killed ${killed.length} process(es) left in ${state.mergedDir} by ${who}`);
  for (const target of [...state.mounts].reverse()) {
    const how = await unmount(target);
    if (how !== 'absent') messages.push(`unmounted ${target} left by ${who}${how === 'lazy' ? ' (lazily: busy)' : ''}`);
  }
  await rm(state.scratchDir, { recursive: true, force: true });
  return messages;
}

async function readState(file: string): Promise<StepState | undefined> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as StepState;
    return state.v === STATE_VERSION && Array.isArray(state.mounts) ? state : undefined;
  } catch {
    return undefined;
  }
}
