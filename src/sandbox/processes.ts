// Looking at processes through /proc: a process's identity (pid plus start
// time, so a reused pid is not mistaken for the original), and finding and
// killing processes whose root or working directory lies in a tree — what is
// left of a step after its group leader is gone, or after a killed build.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { isAtOrUnder } from './mountinfo.js';

/** A pid plus its start time (clock ticks since boot), which together name one process. */
export interface ProcessId {
  pid: number;
  startTime: string;
}

export async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 of the whole line
}

export async function processIdOf(pid: number): Promise<ProcessId | undefined> {
  const startTime = await startTimeOf(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

export async function isAlive(id: ProcessId): Promise<boolean> {
  return (await startTimeOf(id.pid)) === id.startTime;
}

/** Pids (other than our own) whose root or cwd is `dir` or below it. */
export async function processesIn(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    for (const link of ['root', 'cwd']) {
      const target = await readlink(`/proc/${name}/${link}`).catch(() => undefined);
      if (target !== undefined && isAtOrUnder(target, dir)) {
        found.push(Number(name));
        break;
      }
    }
  }
  return found;
}

/** SIGKILLs every process rooted or working in `dir` and waits (briefly) until they are gone. */
export async function killProcessesIn(dir: string): Promise<number[]> {
  const killed: number[] = [];
  for (let round = 0; round < 50; round++) {
    const pids = await processesIn(dir);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        if (!killed.includes(pid)) killed.push(pid);
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return killed;
}

/** SIGKILLs the process group led by `leader` if that very process still exists. */
export async function killGroupOf(leader: ProcessId): Promise<boolean> {
  if (!(await isAlive(leader))) return false;
  try {
    process.kill(-leader.pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
