// Timing helpers for the bench scripts: run one command as a child process
// with its output in a log file, and return its wall time, exit code and the
// load average before and after (the build host is shared, so every figure
// carries the load it was measured under).
import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, readdir, lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** 1-minute load average, rounded to two decimals. */
export const load1 = () => Number(os.loadavg()[0].toFixed(2));

/** Now, as the results say it: ISO 8601 UTC to the second. */
export const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

// Python, because Node has no posix_fadvise; python3 is on every machine
// scripts/setup made (diskimage-builder needs it).
const EVICT = `
import os, sys
n = 0
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        try:
            fd = os.open(os.path.join(d, f), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n += 1
        finally:
            os.close(fd)
print(n)
`;

/**
 * Drops `dir`'s files from the page cache (only theirs: the host's other
 * work keeps its cache), so the next build reads them from the disk as a
 * runner that just restored its cache would. Returns how many files.
 */
export async function evictPageCache(dir) {
  const r = await execa('python3', ['-c', EVICT, dir]);
  return Number(r.stdout.trim());
}

/**
 * Runs `cmd args` with `env` added, stdout+stderr to `log`. Never throws on a
 * non-zero exit: the result says what happened.
 */
export async function timed(cmd, args, { env = {}, cwd, log }) {
  await mkdir(path.dirname(log), { recursive: true });
  const out = createWriteStream(log);
  out.write(`$ ${cmd} ${args.join(' ')}\n`);
  const loadBefore = os.loadavg().map((l) => Number(l.toFixed(2)));
  const t0 = performance.now();
  const child = execa(cmd, args, { env: { ...process.env, ...env }, cwd, reject: false, all: true, stdin: 'ignore' });
  child.all.pipe(out);
  const res = await child;
  const seconds = (performance.now() - t0) / 1000;
  const loadAfter = os.loadavg().map((l) => Number(l.toFixed(2)));
  await new Promise((r) => out.end(r));
  return { seconds: Number(seconds.toFixed(1)), exitCode: res.exitCode, loadBefore, loadAfter, log };
}

/**
 * `node cli ...args --json-file summary`, timed as `timed` does, with the
 * steps built and cached from the build's JSON summary (undefined when it
 * wrote none).
 */
export async function timedBuild(cli, args, summary, options) {
  await rm(summary, { force: true });
  const r = await timed('node', [cli, ...args, '--json-file', summary], options);
  const steps = await readFile(summary, 'utf8')
    .then((t) => JSON.parse(t))
    .then((j) => ({ built: j.built, cached: j.cached }))
    .catch(() => undefined);
  return { ...r, steps };
}

/**
 * record(name, figure): keeps the figure in results.figures with the run it
 * belongs to (results.machine.date) and when it was taken, and prints it
 * with its load.
 */
export function recorder(results) {
  return (name, fig) => {
    results.figures[name] = { ...fig, run: results.machine.date, at: stamp() };
    const load = fig.loadBefore ? ` (load ${fig.loadBefore[0]} -> ${fig.loadAfter[0]})` : '';
    console.log(`${name}: ${fig.value} ${fig.unit}${fig.exitCode ? ` FAILED exit ${fig.exitCode}, see ${fig.log}` : ''}${load}`);
  };
}

/** Apparent bytes under `dir`, each inode once (files, directories, symlinks), as `du -sb` counts: tree checkpoints are hard links. */
export async function treeBytes(dir) {
  let total = 0;
  const seen = new Set();
  const walk = async (d) => {
    let names;
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const s = await lstat(p);
      const id = `${s.dev}:${s.ino}`;
      if (!seen.has(id)) {
        seen.add(id);
        total += s.size;
      }
      if (s.isDirectory()) await walk(p);
    }
  };
  const top = await lstat(dir).catch(() => null);
  if (!top) return 0;
  await walk(dir);
  return total + top.size;
}

export async function fileBytes(file) {
  return (await stat(file).catch(() => ({ size: 0 }))).size;
}

/** The machine, for the results header. */
export async function machine() {
  const cpu = (await readFile('/proc/cpuinfo', 'utf8')).match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown';
  const pkg = async (name) =>
    (await execa('dpkg-query', ['-W', '-f=${Version}', name], { reject: false })).stdout || 'not installed';
  const git = await execa('git', ['rev-parse', '--short', 'HEAD'], { reject: false });
  return {
    date: stamp(),
    nproc: os.cpus().length,
    ramGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    cpu,
    kernel: os.release(),
    dib: await pkg('python3-diskimage-builder'),
    node: process.version,
    commit: git.stdout || 'unknown',
  };
}
