// imgfactory vs diskimage-builder, side by side on this machine (issues 4
// and 7). Drives the real CLIs as child processes — `node bin/imgfactory.js`
// and Debian's `disk-image-create` (from the test tools tree) — and records every figure, with the load
// average it was measured under, in bench/results/dib-compare.json and the
// dib-compare section of bench/RESULTS.md. Groups (run in this order, one
// at a time, never two heavy ones together; with --rounds N, baseline-minimal
// and img-minimal run alternately N times, so that the spread between rounds
// of the same code gives the run's noise):
//
//   dib-minimal    DIB debian-minimal -t tar: cold, no-op, finalise changed
//   baseline-minimal  what img-minimal runs, with the imgfactory of
//                  --baseline <commit> (a worktree under the work dir)
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
//        [--work DIR] [--render] [--baseline COMMIT] [--rounds N]
// See bench/README.md.
import { cp, mkdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { fileBytes, load1, machine, recorder, timed, timedBuild, treeBytes } from './lib/measure.mjs';
import { dibCommand, dibEnvironment } from './lib/dib.mjs';
import { writeResults } from './lib/report.mjs';
import { checkSides, describeCheckout, prepareBaseline, resolveCommit } from './lib/baseline.mjs';

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
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '1' },
  },
});
const rounds = Number(opt.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${opt.rounds}: a whole number, 1 or more`);

// Estimated seconds per measurement on a 2-core host (DIB figures from issue
// 4's 133.6 s cold debian-minimal; the controller from package volume).
const imgMinimal = { est: 120 + 5 + 20 + (opt['no-nocache'] ? 0 : 110), rounds: true };
const GROUPS = {
  'dib-minimal': { est: (opt['no-dib-finalise'] ? 2 : 3) * 150 - (opt['no-dib-noop'] ? 150 : 0) },
  'baseline-minimal': imgMinimal,
  'img-minimal': imgMinimal,
  pack: { est: 40 },
  'dib-controller': { est: (opt['no-dib-finalise'] ? 2 : 3) * 700 - (opt['no-dib-noop'] ? 700 : 0) },
  'img-controller': { est: 600 + 5 + 60 },
};
const pick = (s) => (s ? s.split(',').map((x) => x.trim()) : []);
for (const g of [...pick(opt.only), ...pick(opt.skip)]) {
  if (!GROUPS[g]) throw new Error(`unknown group ${g}; groups: ${Object.keys(GROUPS).join(', ')}`);
}
const groups = Object.keys(GROUPS).filter(
  (g) =>
    (!opt.only || pick(opt.only).includes(g)) &&
    !pick(opt.skip).includes(g) &&
    (g !== 'baseline-minimal' || opt.baseline || opt.only),
);
if (groups.includes('baseline-minimal') && !opt.baseline) throw new Error('baseline-minimal needs --baseline <commit>');
if (opt.baseline && !groups.includes('baseline-minimal')) throw new Error('--baseline is for the baseline-minimal group, which is not selected');
// The run order: the --rounds groups alternate where the first of them stands.
const plan = [];
for (const g of groups) {
  if (!GROUPS[g].rounds) plan.push({ g, round: 1 });
  else if (!plan.some((s) => GROUPS[s.g].rounds)) {
    for (let round = 1; round <= rounds; round += 1) {
      for (const h of groups.filter((x) => GROUPS[x].rounds)) plan.push({ g: h, round });
    }
  }
}
const commit = opt.baseline ? await resolveCommit(root, opt.baseline) : undefined;
const COMPILE_EST = 60;
const est = plan.reduce((s, { g }) => s + GROUPS[g].est, 0) + (commit ? COMPILE_EST : 0);
const times = (g) => plan.filter((s) => s.g === g).length;
console.log(`groups: ${groups.join(', ')}`);
if (commit) console.log(`baseline: ${commit.short} (worktree ${path.join(opt.work, 'baseline-src')}) vs the checkout: ${await describeCheckout(root)}`);
if (rounds > 1) console.log(`order: ${plan.map((s) => `${s.g}${s.round > 1 ? ` r${s.round}` : ''}`).join(', ')}`);
console.log(
  `estimated total: ~${Math.round(est / 60)} min (${[
    ...groups.map((g) => `${g} ~${Math.round(GROUPS[g].est / 60)} min${times(g) > 1 ? ` × ${times(g)} rounds` : ''}`),
    ...(commit ? [`compiling the baseline ~${Math.round(COMPILE_EST / 60)} min`] : []),
  ].join(', ')}); more under load`,
);
if (!opt.render && groups.some((g) => GROUPS[g].rounds)) for (const w of await checkSides(root, commit)) console.log(`warning: ${w}`);
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
const record = recorder(results);

// ---- diskimage-builder -------------------------------------------------
const dibEnv = dibEnvironment(work, elements);
async function dib(name, extraElements, extraArgs) {
  const out = path.join(work, 'out-dib', name);
  const run = async (label) => {
    const r = await timed(...dibCommand(work, ['-t', 'tar', '-o', out, 'debian-minimal', ...extraElements, ...extraArgs]), {
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
// Which imgfactory runs: the checkout's, or --baseline's (its figures, cache,
// build dir and output are "baseline-"/"-baseline" ones). Round n > 1 adds
// "-rn" to the figure names.
const current = { src: root, cli: path.join(root, 'bin/imgfactory.js'), prefix: '', dir: (d) => d };
const baseline = { src: path.join(work, 'baseline-src'), prefix: 'baseline-', dir: (d) => `${d}-baseline` };
async function img(name, images, { noCache = true, code = current, round = 1 } = {}) {
  const id = `${code.prefix}${name}`;
  const sfx = round > 1 ? `-r${round}` : '';
  const cache = path.join(work, `cache-${id}`);
  const base = ['build', ...images, '--elements-path', elements, '-t', 'tar', '-n', name, '--build-dir', path.join(work, code.dir('build'))];
  const fig = (label, f) => record(`img-${id}-${label}${sfx}`, { ...f, commit: code.commit });
  const run = async (label, extra, out) => {
    const r = await timedBuild(code.cli, [...base, '-o', out, ...extra], path.join(work, 'logs', `img-${id}-${label}${sfx}.json`), {
      cwd: code.src,
      env: { DIB_RELEASE: 'bookworm' },
      log: path.join(work, 'logs', `img-${id}-${label}${sfx}.log`),
    });
    fig(label, { value: r.seconds, unit: 's', ...r });
    return r;
  };
  await freshElements();
  const out = path.join(work, code.dir('out-img'));
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
  fig('cache-size', { value: await treeBytes(cache), unit: 'bytes' });
  fig('output', { value: await fileBytes(path.join(out, `${name}.tar`)), unit: 'bytes' });
  await run('noop', ['--cache-dir', cache], out);
  await changeFinaliseHook();
  await run('finalise', ['--cache-dir', cache], out);
  fig('cache-size-after-finalise', { value: await treeBytes(cache), unit: 'bytes' });
  if (noCache) await run('nocache', ['--no-cache', '--cache-dir', path.join(work, 'cache-unused')], path.join(work, code.dir('out-img-nocache')));
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
if (commit) {
  current.commit = await describeCheckout(root);
  baseline.commit = commit.short;
  baseline.cli = await prepareBaseline(root, baseline.src, commit, path.join(work, 'logs', 'baseline-tsc.log'));
  results.compare = { run: results.machine.date, baseline: baseline.commit, current: current.commit, rounds };
}
for (const { g, round } of plan) {
  const t0 = performance.now();
  if (g === 'dib-minimal') await dib('minimal', ['bench-finalise'], []);
  if (g === 'baseline-minimal') await img('minimal', ['bench-minimal'], { noCache: !opt['no-nocache'], code: baseline, round });
  if (g === 'img-minimal') await img('minimal', ['bench-minimal'], { noCache: !opt['no-nocache'], round });
  if (g === 'pack') await pack();
  if (g === 'dib-controller') await dib('controller', ['bench-finalise', 'bench-debconf'], ['-p', packages.join(',')]);
  if (g === 'img-controller') await img('controller', ['bench-minimal', 'bench-debconf', 'bench-controller'], { noCache: false });
  console.log(`${g}${round > 1 ? ` r${round}` : ''} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  await writeResults(root, results);
}
