// Measures layer pack and apply throughput on a real Debian tree (mmdebstrap
// minbase bookworm, built here unless BENCH_TREE names one), using the
// compiled code: run `npx tsc -p tsconfig.json` first. Prints MB/s of
// uncompressed tar bytes for each zstd level/worker setting tried, by wall
// clock and per CPU-second of this process (zstd's worker threads included;
// child processes such as getfattr not) — the second is steadier on a shared
// machine.
//
//   node bench/layer-pack.mjs                 # default settings only
//   BENCH_SWEEP=1 node bench/layer-pack.mjs   # also levels 1/3, 0-2 workers
import { execa } from 'execa';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { applyLayer } from '../dist/cache/layer-apply.js';
import { packLayer } from '../dist/cache/layer-pack.js';

const work = await mkdtemp(path.join(process.env.BENCH_TMP ?? tmpdir(), 'imgfactory-bench-'));
try {
  let tree = process.env.BENCH_TREE;
  if (!tree) {
    tree = path.join(work, 'tree');
    console.error('building a Debian minbase tree with mmdebstrap...');
    await execa('mmdebstrap', ['--variant=minbase', '--mode=root', 'bookworm', tree, 'http://deb.debian.org/debian']);
  }
  const settings = process.env.BENCH_SWEEP
    ? [[1, 0], [1, 1], [1, 2], [3, 0], [3, 1], [3, 2]]
    : [[undefined, undefined]];
  const cpuMs = (u) => (u.user + u.system) / 1000;
  const mb = (bytes, ms) => ((bytes / 1e6) / (ms / 1000)).toFixed(0);
  for (const [level, workers] of settings) {
    const blob = path.join(work, `layer-${level}-${workers}.tar.zst`);
    // Warm the page cache once so every setting reads the same way.
    const discard = new Writable({ write: (_chunk, _enc, done) => done() });
    await packLayer(tree, discard, { source: 'tree', level: 1 });
    let t = performance.now();
    let cpu = process.cpuUsage();
    const packed = await packLayer(tree, blob, { source: 'tree', level, workers });
    const packMs = performance.now() - t;
    const packCpu = cpuMs(process.cpuUsage(cpu));
    if (!packed.ok) throw new Error(JSON.stringify(packed.error));
    const { uncompressedSize, size, entries } = packed.value;

    const dest = path.join(work, 'dest');
    t = performance.now();
    cpu = process.cpuUsage();
    const applied = await applyLayer(blob, dest);
    const applyMs = performance.now() - t;
    const applyCpu = cpuMs(process.cpuUsage(cpu));
    if (!applied.ok) throw new Error(JSON.stringify(applied.error));
    await rm(dest, { recursive: true, force: true });

    console.log(
      `level=${level ?? 'default'} workers=${workers ?? 'default'}: ` +
        `${entries} entries, tar ${(uncompressedSize / 1e6).toFixed(1)} MB -> zstd ${((await stat(blob)).size / 1e6).toFixed(1)} MB ` +
        `(ratio ${(uncompressedSize / size).toFixed(2)})\n` +
        `  pack  ${mb(uncompressedSize, packMs)} MB/s wall (${packMs.toFixed(0)} ms), ${mb(uncompressedSize, packCpu)} MB per CPU-s\n` +
        `  apply ${mb(uncompressedSize, applyMs)} MB/s wall (${applyMs.toFixed(0)} ms), ${mb(uncompressedSize, applyCpu)} MB per CPU-s`,
    );
    await rm(blob);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
