// imgfactory vs diskimage-builder, side by side on this machine (issues 4
// and 7). Drives the real CLIs as child processes — `node bin/imgfactory.js`
// and Debian's `disk-image-create` — and records every figure, with the load
// average it was measured under, in bench/results/dib-compare.json and the
// dib-compare section of bench/RESULTS.md. Groups (run in this order, one
// at a time, never two heavy ones together):
//
//   dib-minimal    DIB debian-minimal -t tar: cold, no-op, finalise changed
//   img-minimal    imgfactory bench-minimal -t tar: cold, no-op,
//                  finalise changed, --no-cache cold, cache size
//   pack           layer pack throughput (bench/layer-pack.mjs on the
//                  img-minimal output tree)
//   dib-controller DIB debian-minimal -p <controller packages>: cold, no-op,
//                  finalise changed
//   img-controller imgfactory, same packages: cold, no-op, finalise changed
//
//   node bench/dib-compare.mjs [--only g1,g2] [--skip g] [--dry-run]
//        [--no-dib-finalise] [--no-dib-noop] [--no-nocache] [--noop-only] [--packages FILE]
//        [--work DIR] [--render]
// See bench/README.md.
import { cp, mkdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { fileBytes, load1, machine, timed, treeBytes } from './lib/measure.mjs';
import { writeResults } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    skip: { type: 'string' },
    'dry-run': { type: 'boolean' },
    render: { type: 'boolean' },
    'no-dib-finalise': { type: 'boolean' },
    'no-dib-noop': { type: 'boolean' },
    'no-nocache': { type: 'boolean' },
    'noop-only': { type: 'boolean' },
    packages: { type: 'string', default: path.join(root, 'bench/controller-packages.txt') },
    work: { type: 'string', default: process.env.BENCH_WORK ?? '/var/tmp/imgfactory-bench' },
  },
});

// Estimated seconds per measurement on a 2-core host (DIB figures from issue
// 4's 133.6 s cold debian-minimal; the controller from package volume).
const GROUPS = {
  'dib-minimal': { est: (opt['no-dib-finalise'] ? 2 : 3) * 150 - (opt['no-dib-noop'] ? 150 : 0) },
  'img-minimal': { est: 120 + 5 + 20 + 110 },
  pack: { est: 40 },
  'dib-controller': { est: (opt['no-dib-finalise'] ? 2 : 3) * 700 - (opt['no-dib-noop'] ? 700 : 0) },
  'img-controller': { est: 600 + 5 + 60 },
};
const pick = (s) => (s ? s.split(',').map((x) => x.trim()) : []);
for (const g of [...pick(opt.only), ...pick(opt.skip)]) {
  if (!GROUPS[g]) throw new Error(`unknown group ${g}; groups: ${Object.keys(GROUPS).join(', ')}`);
}
const groups = Object.keys(GROUPS).filter(
  (g) => (!opt.only || pick(opt.only).includes(g)) && !pick(opt.skip).includes(g),
);
const est = groups.reduce((s, g) => s + GROUPS[g].est, 0);
console.log(`groups: ${groups.join(', ')}`);
console.log(`estimated total: ~${Math.round(est / 60)} min (${groups.map((g) => `${g} ~${Math.round(GROUPS[g].est / 60)} min`).join(', ')}); more under load`);
if (opt['dry-run']) process.exit(0);
if (opt.render) {
  // Re-render RESULTS.md from bench/results/dib-compare.json, measuring nothing.
  const data = JSON.parse(await readFile(path.join(root, 'bench/results/dib-compare.json'), 'utf8'));
  await writeResults(root, { machine: data.machine, figures: {} });
  process.exit(0);
}

const work = opt.work;
const elements = path.join(work, 'elements');
const packages = (await readFile(opt.packages, 'utf8'))
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter(Boolean);

// A scratch copy of bench/elements: the finalise-changed runs edit the copy,
// and bench-controller's package list is written from the list file.
async function freshElements() {
  await rm(elements, { recursive: true, force: true });
  await cp(path.join(root, 'bench/elements'), elements, { recursive: true });
  await mkdir(path.join(elements, 'bench-controller'), { recursive: true });
  await writeFile(
    path.join(elements, 'bench-controller/package-installs.yaml'),
    `# Written by bench/dib-compare.mjs from ${path.relative(root, opt.packages)}.\n` +
      packages.map((p) => `${p}:\n`).join(''),
  );
}
let edits = 0;
async function changeFinaliseHook() {
  edits += 1;
  await appendFile(
    path.join(elements, 'bench-finalise/finalise.d/90-bench-finalise'),
    `echo "edit ${edits}" >> /etc/bench-finalise\n`,
  );
}

const results = { machine: await machine(), figures: {} };
const record = (name, fig) => {
  results.figures[name] = { ...fig, at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  const load = fig.loadBefore ? ` (load ${fig.loadBefore[0]} -> ${fig.loadAfter[0]})` : '';
  console.log(`${name}: ${fig.value} ${fig.unit}${fig.exitCode ? ` FAILED exit ${fig.exitCode}, see ${fig.log}` : ''}${load}`);
};

// ---- diskimage-builder -------------------------------------------------
const dibEnv = {
  ELEMENTS_PATH: elements,
  DIB_RELEASE: 'bookworm',
  DIB_DISTRIBUTION_MIRROR: 'http://deb.debian.org/debian',
  // debian-minimal's default security line for bookworm is
  // "<mirror> bookworm/updates", which does not exist: the suite is
  // bookworm-security on deb.debian.org/debian-security.
  DIB_DEBIAN_SECURITY_MIRROR: 'http://deb.debian.org/debian-security',
  DIB_DEBIAN_SECURITY_SUBPATH: '-security',
  DIB_IMAGE_CACHE: path.join(work, 'dib-cache'),
  TMPDIR: path.join(work, 'dib-tmp'),
};
async function dib(name, extraElements, extraArgs) {
  const out = path.join(work, 'out-dib', name);
  const run = async (label) => {
    const r = await timed('disk-image-create', ['-t', 'tar', '-o', out, 'debian-minimal', ...extraElements, ...extraArgs], {
      env: dibEnv,
      cwd: work,
      log: path.join(work, 'logs', `dib-${name}-${label}.log`),
    });
    record(`dib-${name}-${label}`, { value: r.seconds, unit: 's', ...r });
    return r;
  };
  await freshElements();
  await rm(dibEnv.DIB_IMAGE_CACHE, { recursive: true, force: true });
  await mkdir(dibEnv.TMPDIR, { recursive: true });
  const cold = await run('cold');
  if (cold.exitCode) return;
  record(`dib-${name}-output`, { value: await fileBytes(`${out}.tar`), unit: 'bytes' });
  if (!opt['no-dib-noop']) await run('noop');
  if (!opt['no-dib-finalise']) {
    await changeFinaliseHook();
    await run('finalise');
  }
}

// ---- imgfactory --------------------------------------------------------
const cli = path.join(root, 'bin/imgfactory.js');
async function img(name, images, { noCache = true } = {}) {
  const cache = path.join(work, `cache-${name}`);
  const base = ['build', ...images, '--elements-path', elements, '-t', 'tar', '-n', name, '--build-dir', path.join(work, 'build')];
  const run = async (label, extra, out) => {
    const summary = path.join(work, 'logs', `img-${name}-${label}.json`);
    await rm(summary, { force: true });
    const r = await timed('node', [cli, ...base, '-o', out, ...extra, '--json-file', summary], {
      cwd: root,
      env: { DIB_RELEASE: 'bookworm' },
      log: path.join(work, 'logs', `img-${name}-${label}.log`),
    });
    const steps = await readFile(summary, 'utf8')
      .then((t) => JSON.parse(t))
      .then((j) => ({ built: j.built, cached: j.cached }))
      .catch(() => undefined);
    record(`img-${name}-${label}`, { value: r.seconds, unit: 's', steps, ...r });
    return r;
  };
  await freshElements();
  const out = path.join(work, 'out-img');
  if (opt['noop-only']) {
    // The cache from the last cold build is kept; warm up once (this run
    // rebuilds whatever changed since, e.g. a new imgfactory), then time
    // the no-op.
    await run('warmup', ['--cache-dir', cache], out);
    await run('noop', ['--cache-dir', cache], out);
    return;
  }
  await rm(cache, { recursive: true, force: true });
  const cold = await run('cold', ['--cache-dir', cache], out);
  if (cold.exitCode) return;
  record(`img-${name}-cache-size`, { value: await treeBytes(cache), unit: 'bytes' });
  record(`img-${name}-output`, { value: await fileBytes(path.join(out, `${name}.tar`)), unit: 'bytes' });
  await run('noop', ['--cache-dir', cache], out);
  await changeFinaliseHook();
  await run('finalise', ['--cache-dir', cache], out);
  record(`img-${name}-cache-size-after-finalise`, { value: await treeBytes(cache), unit: 'bytes' });
  if (noCache) await run('nocache', ['--no-cache', '--cache-dir', path.join(work, 'cache-unused')], path.join(work, 'out-img-nocache'));
}

// ---- layer pack throughput ---------------------------------------------
async function pack() {
  const tar = path.join(work, 'out-img', 'minimal.tar');
  const tree = path.join(work, 'pack-tree');
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true });
  const x = await execa('tar', ['-xpf', tar, '-C', tree, '--xattrs', '--xattrs-include=*', '--numeric-owner'], { reject: false });
  if (x.exitCode) throw new Error(`pack needs the img-minimal output (${tar}): ${x.stderr}`);
  const r = await timed('node', [path.join(root, 'bench/layer-pack.mjs')], {
    cwd: root,
    env: { BENCH_TREE: tree, BENCH_TMP: work },
    log: path.join(work, 'logs', 'pack.log'),
  });
  const text = await readFile(r.log, 'utf8');
  const m = text.match(/pack\s+(\d+) MB\/s wall \((\d+) ms\), (\d+) MB per CPU-s/);
  const a = text.match(/apply\s+(\d+) MB\/s wall \((\d+) ms\), (\d+) MB per CPU-s/);
  const size = text.match(/tar ([\d.]+) MB -> zstd ([\d.]+) MB/);
  record('pack-throughput', { value: m ? Number(m[1]) : null, unit: 'MB/s', perCpu: m && Number(m[3]), tarMB: size && Number(size[1]), zstdMB: size && Number(size[2]), ...r });
  record('apply-throughput', { value: a ? Number(a[1]) : null, unit: 'MB/s', perCpu: a && Number(a[3]), loadBefore: r.loadBefore, loadAfter: r.loadAfter });
  await rm(tree, { recursive: true, force: true });
}

await mkdir(work, { recursive: true });
console.log(`work dir ${work}; load now ${load1()}`);
for (const g of groups) {
  const t0 = performance.now();
  if (g === 'dib-minimal') await dib('minimal', ['bench-finalise'], []);
  if (g === 'img-minimal') await img('minimal', ['bench-minimal'], { noCache: !opt['no-nocache'] });
  if (g === 'pack') await pack();
  if (g === 'dib-controller') await dib('controller', ['bench-finalise', 'bench-debconf'], ['-p', packages.join(',')]);
  if (g === 'img-controller') await img('controller', ['bench-minimal', 'bench-debconf', 'bench-controller'], { noCache: false });
  console.log(`${g} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  await writeResults(root, results);
}
