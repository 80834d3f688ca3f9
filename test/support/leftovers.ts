// What a build may leave behind on the host, seen through /proc: mounts in
// any mount namespace (every process's mountinfo, so a mount in a sandbox's
// private namespace counts too) and the processes a build started (its
// descendants, each named by pid and start time so a reused pid is not
// mistaken for one of them).
import { readdir, readFile } from 'node:fs/promises';
import { scaled } from './slowdown.js';

/** A process as /proc names it once: pid and start time. */
export interface Proc {
  pid: number;
  start: string;
  comm: string;
}

async function stat(pid: number): Promise<{ ppid: number; start: string; comm: string } | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  if (fields[0] === 'Z') return null; // a zombie holds nothing but its exit status
  return { ppid: Number(fields[1]), start: fields[19]!, comm: text.slice(text.indexOf('(') + 1, close) };
}

async function pids(): Promise<number[]> {
  return (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Every process below `root` (not `root` itself), at this moment. */
export async function descendantsOf(root: number): Promise<Proc[]> {
  const all = new Map<number, { ppid: number; start: string; comm: string }>();
  for (const pid of await pids()) {
    const s = await stat(pid);
    if (s) all.set(pid, s);
  }
  const found: Proc[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, s] of all) {
      if (s.ppid !== parent) continue;
      found.push({ pid, start: s.start, comm: s.comm });
      queue.push(pid);
    }
  }
  return found;
}

/** Those of `procs` that still run. */
export async function stillRunning(procs: Proc[]): Promise<Proc[]> {
  const alive: Proc[] = [];
  for (const p of procs) if ((await stat(p.pid))?.start === p.start) alive.push(p);
  return alive;
}

/** Mount points at or below `dir` in any process's mount namespace, as `<pid>: <mount point>`. */
export async function mountsUnderAnywhere(dir: string): Promise<string[]> {
  const found = new Set<string>();
  for (const pid of await pids()) {
    const text = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const point = line.split(' ')[4];
      if (point !== undefined && (point === dir || point.startsWith(`${dir}/`))) found.add(point);
    }
  }
  return [...found].sort();
}

/** Polls `check` until it returns an empty list (or gives up after ~`seconds`, stretched by the slowdown); returns its last answer. */
export async function untilEmpty<T>(check: () => Promise<T[]>, seconds = 20): Promise<T[]> {
  let last = await check();
  const deadline = Date.now() + scaled(seconds * 1000);
  while (Date.now() < deadline && last.length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await check();
  }
  return last;
}
