// Reads every regular file of a tree once, on a pool of threads, so that a
// program which then reads them one at a time finds them in the page cache.
//
// Why: `mkfs.ext4 -d` reads the tree file after file with one synchronous
// read in flight. When the tree's files are not cached — a tree restored
// from a checkpoint the host has dropped from memory (the bench host pages
// out what went unused for a minute), a cache on a CI runner that just
// started — it waits for the disk once per file: the controller's 2.6 GB in
// ~98 k files took mkfs 113 s instead of 21 s warm on the bench host, reading
// at 26 MB/s from a disk that gives 800 MB/s. Sixteen readers side by side
// (these threads) read the same files in ~11 s, and mkfs run beside them
// took 22 s.
//
// Only a hint: it changes no byte anywhere, never fails (a file that is gone
// or unreadable is skipped) and never follows a link or opens anything but a
// regular file (a FIFO would block, a device never end). The walk takes
// directory entries' own types (no lstat), and every opened file is checked
// again with fstat, so a path swapped for something else in between is
// closed unread.
import { opendir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Readers side by side: enough to keep a virtio or NVMe queue busy; they wait on the disk, not the CPU. */
export const READ_AHEAD_THREADS = 16;
/** Files per reader at least: a thread costs ~30 ms to start, more than a small tree takes to read. */
const FILES_PER_THREAD = 256;

export interface ReadAheadTotals {
  files: number;
  bytes: number;
}

export interface ReadAhead {
  /** Resolves when every file was read (or the reading was stopped); never rejects. */
  readonly done: Promise<ReadAheadTotals>;
  /** Stops the readers after the file each is reading; resolves when they have ended. */
  stop(): Promise<ReadAheadTotals>;
}

// Shared control block (Int32 slots): the next index to take, and a stop flag.
const NEXT = 0;
const STOP = 1;

// CommonJS source for `eval: true`, as util/hash-threads.ts.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { files, control } = workerData;
const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;
const buf = Buffer.allocUnsafe(1 << 20);
let count = 0, bytes = 0;
for (;;) {
  if (Atomics.load(control, ${STOP}) !== 0) break;
  const i = Atomics.add(control, ${NEXT}, 1);
  if (i >= files.length) break;
  let fd;
  try {
    fd = fs.openSync(files[i], flags);
    if (!fs.fstatSync(fd).isFile()) continue;
    count++;
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) bytes += n;
  } catch {
    // gone, unreadable: only a hint
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
parentPort.postMessage({ files: count, bytes });
`;

/** Starts reading `dir`'s regular files ahead; see the header. */
export function readAhead(dir: string, threads = READ_AHEAD_THREADS): ReadAhead {
  const control = new Int32Array(new SharedArrayBuffer(8));
  const run = async (): Promise<ReadAheadTotals> => {
    const files: string[] = [];
    await walk(dir, files, control);
    if (Atomics.load(control, STOP) !== 0 || files.length === 0) return { files: 0, bytes: 0 };
    const results = Array.from({ length: Math.max(1, Math.min(threads, Math.ceil(files.length / FILES_PER_THREAD))) }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { files, control } });
      return new Promise<ReadAheadTotals>((resolve) => {
        let got: ReadAheadTotals = { files: 0, bytes: 0 };
        w.on('message', (m: ReadAheadTotals) => (got = m));
        w.on('error', () => undefined);
        w.on('exit', () => resolve(got));
      });
    });
    const totals = await Promise.all(results);
    return totals.reduce((a, b) => ({ files: a.files + b.files, bytes: a.bytes + b.bytes }), { files: 0, bytes: 0 });
  };
  const done = run().catch(() => ({ files: 0, bytes: 0 }));
  return {
    done,
    stop: () => {
      Atomics.store(control, STOP, 1);
      return done;
    },
  };
}

/** Regular files below `dir`, depth first in directory order (the order `mkfs.ext4 -d` reads them in). */
async function walk(dir: string, out: string[], control: Int32Array): Promise<void> {
  if (Atomics.load(control, STOP) !== 0) return;
  let entries;
  try {
    entries = await opendir(dir);
  } catch {
    return;
  }
  const subdirs: string[] = [];
  try {
    for await (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isFile()) out.push(p);
      else if (e.isDirectory()) subdirs.push(p);
    }
  } catch {
    // the directory went away while being read: only a hint
  }
  for (const d of subdirs) await walk(d, out, control);
}
