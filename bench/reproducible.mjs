// Two cold builds of one image against the real mirror, in different build,
// cache and output directories, one after the other in one run (issue 16):
// do their layers and their raw, qcow2 and tar outputs agree bit for bit?
// The second build is pinned to the first's archive state (its manifest), so
// a publication by Debian between the two cannot make them differ. When the
// tars differ, the entries that differ are listed (path and what differs).
// Each build's outputs are hashed and removed before the next starts: two
// controller builds side by side would not fit the disk.
//
//   node bench/reproducible.mjs [--image overcloud-control] [--types raw,qcow2,tar] [--work DIR]
//
// Writes bench/results/reproducible.json and its section of bench/RESULTS.md.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machine, stamp, timedBuild } from './lib/measure.mjs';
import { machineSentence, writeSection } from './lib/report.mjs';
import { entryDifferences, tarFacts } from '../dist/engine/rebuild-check.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    image: { type: 'string', default: 'overcloud-control' },
    types: { type: 'string', default: 'raw,qcow2,tar' },
    work: { type: 'string', default: path.join(process.env.BENCH_WORK ?? '/var/tmp/imgfactory-bench', 'reproducible') },
  },
});
const cli = path.join(root, 'bin/imgfactory.js');
const exts = opt.types.split(',');

async function sha256(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

const tarFactsOf = (file) => tarFacts(createReadStream(file, { highWaterMark: 1 << 20 }));

const m = await machine();
const runs = {};
let facts = null;
for (const side of ['a', 'b']) {
  const dir = path.join(opt.work, side);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const pin = side === 'b' ? ['--archive-state', path.join(opt.work, 'a.manifest.json')] : [];
  const args = ['build', opt.image, '-t', opt.types, '--no-sign', '--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out'), ...pin];
  console.log(`${side}: ${args.join(' ')}`);
  const r = await timedBuild(cli, args, path.join(dir, 'summary.json'), { log: path.join(opt.work, `${side}.log`) });
  if (r.exitCode !== 0) throw new Error(`build ${side} failed (exit ${r.exitCode}), see ${r.log}`);
  const manifest = JSON.parse(await readFile(path.join(dir, 'out', `${opt.image}.manifest.json`), 'utf8'));
  await writeFile(path.join(opt.work, `${side}.manifest.json`), JSON.stringify(manifest, null, 2));
  const outputs = {};
  for (const ext of exts) outputs[ext] = await sha256(path.join(dir, 'out', `${opt.image}.${ext}`));
  const tar = exts.includes('tar') ? await tarFactsOf(path.join(dir, 'out', `${opt.image}.tar`)) : null;
  const summary = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8'));
  runs[side] = { steps: summary.steps.map((st) => st.id), seconds: r.seconds, loadBefore: r.loadBefore, loadAfter: r.loadAfter, outputs, layers: manifest.layers, layerKeys: manifest.layerKeys, sourceDateEpoch: manifest.sourceDateEpoch, sourceDateEpochFrom: manifest.sourceDateEpochFrom, archive: manifest.archive };
  if (side === 'a') facts = tar;
  else if (tar && facts) runs.tarDifferences = entryDifferences(facts, tar);
  console.log(`${side}: ${r.seconds} s, ${Object.entries(outputs).map(([k, v]) => `${k} ${v.slice(0, 12)}`).join(', ')}`);
  await rm(dir, { recursive: true, force: true });
}

const { a, b } = runs;
const firstLayer = a.layers.findIndex((l, i) => b.layers[i] !== l);
const result = {
  machine: m,
  image: opt.image,
  at: stamp(),
  sameOutputs: Object.fromEntries(exts.map((e) => [e, a.outputs[e] === b.outputs[e]])),
  sameLayers: firstLayer < 0,
  firstDifferentLayer: firstLayer < 0 ? null : firstLayer,
  runs,
};
await mkdir(path.join(root, 'bench/results'), { recursive: true });
await writeFile(path.join(root, 'bench/results/reproducible.json'), `${JSON.stringify(result, null, 2)}\n`);

const START = '<!-- reproducible:start (written by bench/reproducible.mjs) -->';
const END = '<!-- reproducible:end -->';
const rows = exts.map((e) => `| ${e} | \`${a.outputs[e].slice(0, 16)}…\` | \`${b.outputs[e].slice(0, 16)}…\` | ${a.outputs[e] === b.outputs[e] ? 'same' : '**differs**'} |`);
const diffs = runs.tarDifferences ?? [];
const section = [
  START,
  `## Reproducibility: two cold builds of ${opt.image} (issue 16)`,
  '',
  `\`node bench/reproducible.mjs --image ${opt.image}\`, ${result.at}. ${machineSentence(m)}`,
  `Two builds from empty caches, in different build, cache and output directories, one after the other against the real mirror; the second pinned to the first's archive state (${a.archive?.suites.map((s) => `${s.suite} ${s.date}`).join(', ')}). SOURCE_DATE_EPOCH ${a.sourceDateEpoch} (from ${a.sourceDateEpochFrom}).`,
  `Build a: ${a.seconds} s (load ${a.loadBefore[0]} → ${a.loadAfter[0]}); build b: ${b.seconds} s (load ${b.loadBefore[0]} → ${b.loadAfter[0]}).`,
  '',
  '| output | build a sha256 | build b sha256 | |',
  '| --- | --- | --- | --- |',
  ...rows,
  '',
  result.sameLayers ? `All ${a.layers.length} layers are the same bytes, so all keys are the same.` : `The layers differ from step ${firstLayer + 1} of ${a.layers.length} (\`${a.steps[firstLayer]}\`) on: every key after it follows from its bytes.`,
  ...(diffs.length > 0 ? ['', `Entries of the tar that differ (${diffs.length}):`, '', ...diffs.slice(0, 40).map((d) => `- \`${d}\``)] : []),
  END,
].join('\n');
await writeSection(path.join(root, 'bench/RESULTS.md'), START, END, section);
console.log(section);
