// The TripleO golden images (issue 7): how much overcloud-control and
// overcloud-compute share in one cache, how long the second image takes, the
// no-op rebuild of the real image, and the undercloud. Writes
// bench/results/golden-images.json and the golden-images section of
// bench/RESULTS.md.
//
//   node bench/golden-images.mjs [--work DIR] [--only control,noop,compute-alone,undercloud]
//   node bench/golden-images.mjs --render     # rewrite the RESULTS.md section from the JSON
//
// Groups (in order):
//   control        cache S: overcloud-control cold, then again (no-op), then
//                  overcloud-compute on the same cache (the second image)
//   noop           (not in the default run) the no-op alone, on cache S as left
//   compute-alone  cache C: overcloud-compute from an empty cache
//   undercloud     cache U: undercloud from an empty cache
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fileBytes, machine, timed, treeBytes } from './lib/measure.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.dirname(here);
const { values } = parseArgs({
  options: {
    work: { type: 'string', default: process.env.BENCH_WORK ?? '/var/tmp/imgfactory-golden' },
    only: { type: 'string' },
    render: { type: 'boolean', default: false },
  },
});
const work = path.resolve(values.work);
const only = values.only ? new Set(values.only.split(',')) : null;
const RESULTS_JSON = path.join(here, 'results', 'golden-images.json');
const RESULTS_MD = path.join(here, 'RESULTS.md');
const cli = path.join(repo, 'bin', 'imgfactory');

const saved = JSON.parse(await readFile(RESULTS_JSON, 'utf8').catch(() => '{"figures":{}}'));

/** One `imgfactory build` in `cacheName`'s cache; records time, steps built/cached and the cache size after. */
async function build(figure, image, cacheName, { fresh = false } = {}) {
  const cacheDir = path.join(work, cacheName, 'cache');
  if (fresh) await rm(path.join(work, cacheName), { recursive: true, force: true });
  await mkdir(path.join(work, cacheName), { recursive: true });
  const summary = path.join(work, cacheName, `${figure}.json`);
  const args = ['build', image, '-t', 'qcow2', '--cache-dir', cacheDir, '--build-dir', path.join(work, cacheName, 'build'), '-o', path.join(work, cacheName, 'out'), '--json-file', summary];
  console.log(`${figure}: imgfactory ${args.join(' ')}`);
  const r = await timed(process.execPath, [cli, ...args], { cwd: work, log: path.join(work, 'logs', `${figure}.log`) });
  if (r.exitCode !== 0) throw new Error(`${figure} failed (exit ${r.exitCode}); see ${r.log}`);
  const json = JSON.parse(await readFile(summary, 'utf8'));
  const steps = json.steps ?? [];
  const built = steps.filter((s) => s.status === 'built').length;
  const cached = steps.filter((s) => s.status === 'cached').length;
  const qcow2 = await fileBytes(path.join(work, cacheName, 'out', `${image}.qcow2`));
  const fig = { seconds: r.seconds, built, cached, load: [r.loadBefore[0], r.loadAfter[0]], cacheBytes: await treeBytes(cacheDir), treesBytes: await treeBytes(path.join(cacheDir, 'trees-v1')), qcow2Bytes: qcow2, at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), commit: saved.machine.commit };
  saved.figures[figure] = fig;
  console.log(`  ${fig.seconds} s, ${built} built, ${cached} cached, cache ${gb(fig.cacheBytes)}, load ${fig.load.join(' → ')}`);
  await writeFile(RESULTS_JSON, `${JSON.stringify(saved, null, 2)}\n`);
  return fig;
}

const gb = (n) => `${(n / 1e9).toFixed(2)} GB`;
const mib = (n) => `${(n / 2 ** 20).toFixed(0)} MiB`;

if (values.render) {
  await render();
  process.exit(0);
}
saved.machine = await machine();
if (!only || only.has('control')) {
  await build('control-cold', 'overcloud-control', 'shared', { fresh: true });
  await build('control-noop', 'overcloud-control', 'shared');
  await build('compute-after-control', 'overcloud-compute', 'shared');
}
// Only the no-op again, on the cache the control group left (after a change to imgfactory).
if (only?.has('noop')) await build('control-noop', 'overcloud-control', 'shared');
if (!only || only.has('compute-alone')) await build('compute-alone', 'overcloud-compute', 'compute', { fresh: true });
if (!only || only.has('undercloud')) await build('undercloud-cold', 'undercloud', 'undercloud', { fresh: true });

await render();

async function render() {
  const f = saved.figures;
  const m = saved.machine;
  const cell = (fig, what) => (fig ? what(fig) : 'not measured');
  const row = (label, fig) => `| ${label} | ${cell(fig, (x) => `${x.seconds} s`)} | ${cell(fig, (x) => `${x.built} built, ${x.cached} cached`)} | ${cell(fig, (x) => (x.treesBytes ? `${gb(x.cacheBytes)} (checkpoints ${gb(x.treesBytes)})` : gb(x.cacheBytes)))} | ${cell(fig, (x) => mib(x.qcow2Bytes))} | ${cell(fig, (x) => x.load.join(' → '))} | ${cell(fig, (x) => `${x.at}${x.commit ? ` (${x.commit})` : ''}`)} |`;
  const lines = [
    '<!-- golden-images:start (written by bench/golden-images.mjs) -->',
    '',
    '## The TripleO golden images: sharing one cache (issue 7)',
    '',
    `\`node bench/golden-images.mjs\`: each image built with \`-t qcow2\` (GPT/EFI layout, compressed qcow2). Machine: ${m.nproc} cores, ${m.ramGiB} GiB, ${m.cpu}, Linux ${m.kernel}, Node ${m.node}, last run ${m.date} at imgfactory ${m.commit} (each row says which commit it measured). Load is the 1-minute load average before → after (2 cores; the host is shared). Cache size is every byte under the cache directory, each hard-linked file once (\`du -sb\`): the zstd layers, the cached outputs (the qcow2 image) and the tree checkpoints.`,
    '',
    '| build | time | steps | cache size after | qcow2 | load | when (imgfactory commit) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    row('overcloud-control, empty cache', f['control-cold']),
    row('overcloud-control again, nothing changed (no-op; measured again after the compute builds, so its cache holds both)', f['control-noop']),
    row('overcloud-compute, in the same cache (second image)', f['compute-after-control']),
    row('overcloud-compute alone, empty cache', f['compute-alone']),
    row('undercloud, empty cache', f['undercloud-cold']),
    '',
  ];
  const both = f['compute-after-control']?.cacheBytes;
  const control = f['control-cold']?.cacheBytes;
  const compute = f['compute-alone']?.cacheBytes;
  if (both && control && compute) {
    lines.push(
      `Both images in one cache: ${gb(both)}; each alone: control ${gb(control)} + compute ${gb(compute)} = ${gb(control + compute)}. Sharing saves ${gb(control + compute - both)} (${(((control + compute - both) / (control + compute)) * 100).toFixed(0)} %).`,
    );
  }
  if (f['compute-after-control'] && f['compute-alone']) {
    lines.push(`The second image (compute after control) took ${f['compute-after-control'].seconds} s against ${f['compute-alone'].seconds} s from an empty cache (${(f['compute-after-control'].seconds / f['compute-alone'].seconds).toFixed(2)} ×).`, '');
  }
  lines.push('<!-- golden-images:end -->');
  let text = await readFile(RESULTS_MD, 'utf8');
  const start = text.indexOf(lines[0]);
  const end = text.indexOf('<!-- golden-images:end -->');
  text = start >= 0 && end > start ? text.slice(0, start) + lines.join('\n') + text.slice(end + '<!-- golden-images:end -->'.length) : `${text.trimEnd()}\n\n${lines.join('\n')}\n`;
  await writeFile(RESULTS_MD, text);
}
