// diskimage-builder and imgfactory building the same image from DIB's own
// elements, unchanged (Debian's DIB package), in one run: each tool's cold
// build and its rebuild, the output sizes, and how far the two trees agree
// (installed packages, tar members). Writes bench/results/dib-elements.json
// and the dib-elements section of bench/RESULTS.md. One thing at a time, in
// this order:
//
//   dib-cold   disk-image-create -x -t tar debian-minimal [elements], empty DIB_IMAGE_CACHE
//   dib-again  the same again: DIB's rebuild (it has no layer cache)
//   img-cold   imgfactory build debian-minimal [elements] -t tar --elements-path <DIB's>, empty cache
//   img-noop   the same again on the same cache
//   fidelity   DIB's cold tar vs imgfactory's: installed packages, tar members
//
//   node bench/dib-elements.mjs [--elements a,b,c] [--work DIR] [--dry-run] [--render]
// See bench/README.md.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { checkSides } from './lib/baseline.mjs';
import { dibCommand, dibEnvironment } from './lib/dib.mjs';
import { fileBytes, load1, machine, recorder, stamp, timed, timedBuild } from './lib/measure.mjs';
import { cell, load, machineSentence, ok, steps, writeSection } from './lib/report.mjs';
import { compareMembers, tarMembers } from './lib/tar-compare.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    elements: { type: 'string', default: '' },
    work: { type: 'string', default: '/var/tmp/imgfactory-bench-dib' },
    'dry-run': { type: 'boolean' },
    render: { type: 'boolean' },
  },
});
const DIB_ELEMENTS = '/usr/lib/python3/dist-packages/diskimage_builder/elements';
const RESULTS_JSON = path.join(root, 'bench/results/dib-elements.json');
const START = '<!-- dib-elements:start (written by bench/dib-elements.mjs) -->';
const END = '<!-- dib-elements:end -->';
const FIRST = 40; // paths listed per category of tar members

if (opt.render) {
  // Re-render the RESULTS.md section from the JSON, measuring nothing.
  await render(JSON.parse(await readFile(RESULTS_JSON, 'utf8')));
  process.exit(0);
}

const work = path.resolve(opt.work);
const elements = ['debian-minimal', ...opt.elements.split(',').map((e) => e.trim()).filter(Boolean)];
const dibEnv = dibEnvironment(work);
const dibTar = path.join(work, 'out-dib', 'dib.tar');
// DIB's rebuild writes dib.tar again: the cold one is kept here for the fidelity figures.
const dibColdTar = path.join(work, 'out-dib', 'dib-cold.tar');
const dibArgs = ['-x', '-t', 'tar', '-o', path.join(work, 'out-dib', 'dib'), ...elements];
const cli = path.join(root, 'bin/imgfactory.js');
const cache = path.join(work, 'cache');
const imgOut = path.join(work, 'out-img');
// imgfactory names the output after the first image: debian-minimal.tar.
const imgTar = path.join(imgOut, 'debian-minimal.tar');
const imgArgs = ['build', ...elements, '-t', 'tar', '--elements-path', DIB_ELEMENTS, '--cache-dir', cache, '--build-dir', path.join(work, 'build'), '-o', imgOut];
const imgEnv = { DIB_RELEASE: 'bookworm' };
const logs = path.join(work, 'logs');
const dpkgFormat = '-f=${db:Status-Status} ${Package} ${Version}\n';

// What runs, in order, with its estimated seconds on this 2-core host.
const envText = (env) => Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
const PLAN = [
  ['dib-cold', 100, `rm -rf ${dibEnv.DIB_IMAGE_CACHE}; ${envText(dibEnv)} scripts/test-tools run --bind ${work} -- disk-image-create ${dibArgs.join(' ')}`],
  ['dib-again', 100, `the same again; the cold ${path.basename(dibTar)} is moved to ${dibColdTar} first`],
  ['img-cold', 110, `rm -rf ${cache}; ${envText(imgEnv)} node ${cli} ${imgArgs.join(' ')} --json-file ${logs}/img-cold.json`],
  ['img-noop', 2, 'the same again on the same cache (--json-file img-noop.json)'],
  ['fidelity', 20, `on each tar: tar -xf <tar> ./var/lib/dpkg/status, dpkg-query --admindir=<its var/lib/dpkg> -W '${dpkgFormat.replace('\n', '\\n')}' (installed ones); ${dibColdTar} and ${imgTar} compared member by member (tar package)`],
];
console.log(`work dir ${work}; elements: ${elements.join(' ')} (from ${DIB_ELEMENTS})`);
for (const [name, est, what] of PLAN) console.log(`${name} (~${est} s): ${what}`);
const est = PLAN.reduce((s, [, e]) => s + e, 0);
console.log(`estimated total: ~${Math.round(est / 60)} min (${PLAN.map(([n, e]) => `${n} ~${e} s`).join(', ')}); more under load${elements.length > 1 ? ' and with the added elements' : ''}`);
for (const w of await checkSides(root)) console.log(`warning: ${w}`);
if (opt['dry-run']) process.exit(0);

await mkdir(path.join(work, 'out-dib'), { recursive: true });
console.log(`load now ${load1()}`);
const results = { machine: await machine(), elements, figures: {} };
const record = recorder(results);
const timedFigure = (name, r) => record(name, { value: r.seconds, unit: 's', ...r });
const save = async () => {
  await mkdir(path.dirname(RESULTS_JSON), { recursive: true });
  await writeFile(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
  await render(results);
};

// ---- diskimage-builder: cold, then again -----------------------------------
const dib = (label) => timed(...dibCommand(work, dibArgs), { env: dibEnv, cwd: work, log: path.join(logs, `dib-${label}.log`) });
await rm(dibEnv.DIB_IMAGE_CACHE, { recursive: true, force: true });
await rm(dibColdTar, { force: true });
await mkdir(dibEnv.TMPDIR, { recursive: true });
const dibCold = await dib('cold');
timedFigure('dib-cold', dibCold);
if (!dibCold.exitCode) {
  await rename(dibTar, dibColdTar);
  record('dib-output', { value: await fileBytes(dibColdTar), unit: 'bytes' });
  await save();
  timedFigure('dib-again', await dib('again'));
}
await save();

// ---- imgfactory: cold, then no-op ------------------------------------------
const img = (label) => timedBuild(cli, imgArgs, path.join(logs, `img-${label}.json`), { cwd: root, env: imgEnv, log: path.join(logs, `img-${label}.log`) });
await rm(cache, { recursive: true, force: true });
const imgCold = await img('cold');
timedFigure('img-cold', imgCold);
if (!imgCold.exitCode) {
  record('img-output', { value: await fileBytes(imgTar), unit: 'bytes' });
  await save();
  timedFigure('img-noop', await img('noop'));
}
await save();

// ---- fidelity: DIB's cold tar vs imgfactory's (its no-op published the cold build's cached output) ----
if (dibCold.exitCode || imgCold.exitCode) results.fidelity = { error: 'a cold build failed' };
else {
  const t0 = performance.now();
  results.fidelity = await fidelity().catch((e) => ({ error: e.message }));
  console.log(`fidelity: ${results.fidelity.error ?? 'computed'} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
await save();

/** Installed packages of `tar` (name → version), from its var/lib/dpkg/status alone, extracted under `dir`. */
async function installed(tar, dir) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await execa('tar', ['-xf', tar, '-C', dir, './var/lib/dpkg/status']);
  const q = await execa('dpkg-query', [`--admindir=${path.join(dir, 'var/lib/dpkg')}`, '-W', dpkgFormat]);
  return new Map(q.stdout.split('\n').map((l) => l.split(' ')).filter(([s]) => s === 'installed').map(([, n, v]) => [n, v]));
}

async function fidelity() {
  const d = await installed(dibColdTar, path.join(work, 'fidelity', 'dib'));
  const i = await installed(imgTar, path.join(work, 'fidelity', 'img'));
  const only = (a, b) => [...a].filter(([n]) => !b.has(n)).map(([n, v]) => `${n} ${v}`).sort();
  const packages = {
    dib: d.size,
    img: i.size,
    onlyDib: only(d, i),
    onlyImg: only(i, d),
    versions: [...d].filter(([n, v]) => i.has(n) && i.get(n) !== v).map(([n, v]) => `${n} ${v} / ${i.get(n)}`).sort(),
  };
  const a = await tarMembers(dibColdTar);
  const b = await tarMembers(imgTar);
  const c = compareMembers(a, b);
  const host = (p) => p.startsWith('dev/');
  return {
    at: stamp(),
    dibTar: dibColdTar,
    imgTar,
    packages,
    tree: {
      dib: a.size,
      img: b.size,
      onlyDib: { count: c.onlyA.length, dev: c.onlyA.filter(host).length, first: c.onlyA.filter((p) => !host(p)).slice(0, FIRST) },
      onlyImg: { count: c.onlyB.length, first: c.onlyB.slice(0, FIRST) },
      differing: { count: c.differing.length, byField: c.byField, first: c.differing.slice(0, FIRST) },
    },
  };
}

async function render(data) {
  const F = data.figures;
  const flags = data.elements.length > 1 ? ` --elements ${data.elements.slice(1).join(',')}` : '';
  const row = (what, d, i, ratio) => `| ${what} | ${cell(d)} | ${load(d)} | ${cell(i)}${steps(i)} | ${load(i)} | ${ratio} |`;
  const both = (d, i) => ok(d) && ok(i);
  const lines = [
    START,
    '',
    "## diskimage-builder's own elements: DIB vs imgfactory",
    '',
    `\`node bench/dib-elements.mjs${flags}\` (see bench/README.md): \`${data.elements.join(' ')}\` from DIB's own elements ` +
      `(${DIB_ELEMENTS}), unchanged, built in one run by \`disk-image-create -x -t tar\` and by \`imgfactory build -t tar ` +
      `--elements-path\`, both with DIB_RELEASE=bookworm. ${machineSentence(data.machine)} "load" is the 1-minute load ` +
      `average before → after each measurement (${data.machine.nproc} cores, shared host). Packages come from ` +
      'deb.debian.org, so cold builds include downloads.',
    '',
    '| measurement | diskimage-builder | load | imgfactory | load | ratio |',
    '| --- | --- | --- | --- | --- | --- |',
    row('cold build', F['dib-cold'], F['img-cold'], both(F['dib-cold'], F['img-cold']) ? `imgfactory ${(F['img-cold'].value / F['dib-cold'].value).toFixed(2)} × DIB` : ''),
    row('rebuild: DIB again (no layer cache), imgfactory no-op', F['dib-again'], F['img-noop'], both(F['dib-again'], F['img-noop']) ? `DIB ${(F['dib-again'].value / F['img-noop'].value).toFixed(0)} × slower` : ''),
    row('output tar', F['dib-output'], F['img-output'], both(F['dib-output'], F['img-output']) ? `imgfactory ${(F['img-output'].value / F['dib-output'].value).toFixed(2)} × DIB` : ''),
    '',
    `Taken at (UTC): ${Object.entries(F).map(([k, f]) => `${k} ${f.at}`).join(', ')}.`,
    '',
  ];
  const fd = data.fidelity;
  if (fd?.error) lines.push(`Fidelity: not computed (${fd.error}).`, '');
  else if (fd) {
    const { packages: p, tree: t } = fd;
    const byField = Object.entries(t.differing.byField).map(([f, n]) => `${f === 'sha256' ? 'content' : f} ${n}`).join(', ');
    const list = (title, items, count = items.length) =>
      [`**${title}** (${count === items.length ? count : `the first ${items.length} of ${count}`}):`, '', ...(items.length ? ['```text', ...items, '```'] : ['none']), ''];
    lines.push(
      '### Fidelity: the two cold outputs',
      '',
      `Computed ${fd.at}. Packages: \`dpkg-query -W\` on each tar's \`var/lib/dpkg/status\`, installed ones only. ` +
        'Tar members compared by path: type, mode, uid, gid, size, sha256 of regular files, symlink target (not mtimes); ' +
        "a hard link counts as the file it links to. DIB's tar is made with the host's /dev mounted in the tree, so it holds that /dev.",
      '',
      '| | diskimage-builder | imgfactory |',
      '| --- | --- | --- |',
      `| installed packages | ${p.dib} | ${p.img} |`,
      `| packages only in this image | ${p.onlyDib.length} | ${p.onlyImg.length} |`,
      `| packages in both, versions differ | ${p.versions.length} | ${p.versions.length} |`,
      `| tar entries | ${t.dib} | ${t.img} |`,
      `| entries only in this tar | ${t.onlyDib.count} (${t.onlyDib.dev} under dev/) | ${t.onlyImg.count} |`,
      `| entries in both, differing | ${t.differing.count}${byField ? ` (${byField})` : ''} | ${t.differing.count} |`,
      '',
      '<details>',
      '<summary>The packages and tar entries that differ</summary>',
      '',
      ...list("Packages only in DIB's image", p.onlyDib),
      ...list("Packages only in imgfactory's image", p.onlyImg),
      ...list('Packages in both, versions differ (DIB / imgfactory)', p.versions),
      ...list("Entries only in DIB's tar, outside dev/", t.onlyDib.first, t.onlyDib.count - t.onlyDib.dev),
      ...list("Entries only in imgfactory's tar", t.onlyImg.first, t.onlyImg.count),
      ...list('Entries in both, differing (DIB / imgfactory)', t.differing.first, t.differing.count),
      '</details>',
      '',
    );
  }
  lines.push(END);
  await writeSection(path.join(root, 'bench/RESULTS.md'), START, END, lines.join('\n'));
}
