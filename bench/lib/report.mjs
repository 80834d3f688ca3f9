// Renders the dib-compare figures into bench/RESULTS.md (between the
// dib-compare markers, leaving the other benches' sections alone) and keeps
// every figure in bench/results/dib-compare.json, so a partial run (--only)
// updates its own figures and keeps the others, each with its own date and load.
// The cell formats, the machine sentence and writeSection serve the other
// DIB bench (dib-elements.mjs) too.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const START = '<!-- dib-compare:start (written by bench/dib-compare.mjs) -->';
const END = '<!-- dib-compare:end -->';

const fmtBytes = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
// A difference or spread: bytes below 0.1 MB as bytes, seconds to 0.1 s.
const fmtAmount = (v, unit) => {
  if (unit !== 'bytes') return `${v.toFixed(1)} ${unit}`;
  return Math.abs(v) < 1e5 ? `${Math.round(v)} bytes` : `${v < 0 ? '-' : ''}${fmtBytes(Math.abs(v))}`;
};

export function cell(f) {
  if (!f) return 'not measured';
  if (f.exitCode) return `failed (exit ${f.exitCode})`;
  if (f.unit === 'bytes') return fmtBytes(f.value);
  if (f.value === null || f.value === undefined) return 'no figure';
  return `${f.value} ${f.unit}`;
}
export const load = (f) => (f?.loadBefore ? `${f.loadBefore[0]} → ${f.loadAfter[0]}` : '');
export const steps = (f) => (f?.steps ? ` (${f.steps.built} built, ${f.steps.cached} cached)` : '');
export const ok = (f) => f && !f.exitCode && typeof f.value === 'number';

function verdict(value, target, cmp) {
  if (value === undefined) return '';
  const met = cmp === '<=' ? value <= target : value >= target;
  return met ? 'met' : 'NOT met';
}

// Cache writing's cost: cold (cache on) over --no-cache cold. Both download
// packages, so a negative figure means the noise (network, load) was larger
// than the overhead, not that caching is free.
function overhead(cold, nc) {
  const pct = ((cold / nc) - 1) * 100;
  if (pct < 0) return `${pct.toFixed(1)} %: the cached cold build was faster, so the overhead is below this run's noise (network, load)`;
  return `cache writing +${pct.toFixed(1)} %, ${verdict(cold / nc, 1.1, '<=')}`;
}

// The imgfactory measurements, by figure-name suffix, as the tables call them.
const MEASUREMENTS = {
  cold: 'cold build',
  warmup: 'warm-up (`--noop-only`)',
  noop: 'no-op rebuild',
  finalise: 'one finalise hook changed',
  nocache: '`--no-cache` cold',
  'cache-size': 'cache size after cold',
  'cache-size-after-finalise': 'cache size after the finalise rebuild',
  output: 'output tar',
};

// --baseline: the same measurements of the baseline and of the checkout,
// each round of the run data.compare describes. The noise is the larger
// spread (max - min) between rounds of the same code; every figure is
// lower-is-better.
function beforeAfter(data, lines) {
  const F = data.figures;
  const c = data.compare;
  if (!c || !Object.keys(F).some((k) => k.startsWith('img-baseline-minimal-'))) return;
  const round = (prefix, k, r) => {
    const f = F[`img-${prefix}minimal-${k}${r > 1 ? `-r${r}` : ''}`];
    return f?.run === c.run ? f : undefined;
  };
  const sides = (k) =>
    ['baseline-', ''].map((prefix) => Array.from({ length: c.rounds }, (_, i) => round(prefix, k, i + 1)));
  const roundsCell = (fs) => fs.map((f) => (f ? `${cell(f)}${f.loadBefore ? ` (load ${load(f)})` : ''}` : 'not measured in this run')).join('; ');
  const mean = (vs) => vs.reduce((s, v) => s + v, 0) / vs.length;
  const spread = (vs) => (vs.length > 1 ? Math.max(...vs) - Math.min(...vs) : undefined);
  lines.push(`### Before and after (baseline ${c.baseline} vs ${c.current})`, '');
  const dibCold = F['dib-minimal-cold'];
  lines.push(
    `\`--baseline ${c.baseline} --rounds ${c.rounds}\`, run of ${c.run}: \`imgfactory build bench-minimal -t tar\` ` +
      'with the baseline\'s imgfactory and with the checkout\'s, alternately (baseline, current, baseline, …), ' +
      'each cold build from an empty cache. Noise: the larger spread (max − min) between rounds of the same code; ' +
      'the verdict compares the difference of the means (current − baseline; lower is better for every row) with it.' +
      (dibCold?.run === c.run ? ` diskimage-builder's cold debian-minimal in the same run: ${cell(dibCold)} (load ${load(dibCold)}).` : ''),
    '',
    '| measurement | baseline (each round) | current (each round) | difference of the means | noise | verdict |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const [k, what] of Object.entries(MEASUREMENTS)) {
    const [b, i] = sides(k);
    if (![...b, ...i].some(Boolean)) continue;
    const [bv, iv] = [b, i].map((fs) => fs.filter(ok).map((f) => f.value));
    const unit = [...b, ...i].find(ok)?.unit;
    let diff = '';
    let noise = '';
    let judged = '';
    if (bv.length && iv.length) {
      // To a millionth, so that a tie in the figures is a tie in floating point.
      const d = Math.round((mean(iv) - mean(bv)) * 1e6) / 1e6;
      diff = `${d >= 0 ? '+' : ''}${fmtAmount(d, unit)}${mean(bv) ? ` (${d >= 0 ? '+' : ''}${((d / mean(bv)) * 100).toFixed(1)} %)` : ''}`;
      const spreads = [spread(bv), spread(iv)].filter((s) => s !== undefined);
      if (!spreads.length) judged = 'no noise figure: one round of each';
      else {
        const n = Math.round(Math.max(...spreads) * 1e6) / 1e6;
        noise = fmtAmount(n, unit);
        judged = d > n ? 'worse by more than the noise' : d < -n ? 'better' : 'within noise';
      }
    }
    if (judged && [...b, ...i].some((f) => f && !ok(f))) judged += ' (failed rounds left out)';
    lines.push(`| ${what} | ${roundsCell(b)} | ${roundsCell(i)} | ${diff} | ${noise} | ${judged} |`);
  }
  lines.push('');
}

/** The results header's machine: cores, CPU, RAM, kernel, Node, DIB, the commit measured and the run's date. */
export const machineSentence = (m) =>
  `Machine: ${m.nproc} cores (${m.cpu}), ${m.ramGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, ` +
  `diskimage-builder ${m.dib} (Debian), imgfactory at ${m.commit}; last run ${m.date}.`;

function render(data) {
  const F = data.figures;
  const m = data.machine;
  const lines = [START, '', '## imgfactory vs diskimage-builder (issues 4 and 7)', ''];
  lines.push(
    `\`node bench/dib-compare.mjs\` (see bench/README.md). ${machineSentence(m)} The host is shared with other engineers' ` +
      'builds and tests: "load" is the 1-minute load average before → after each measurement ' +
      '(2 cores, so anything above 2 means we had part of the machine). Packages come from ' +
      'deb.debian.org over the network, so cold builds include download time for both tools.',
    '',
  );
  const row = (what, dibF, imgF, target, ratio) =>
    `| ${what} | ${cell(dibF)} | ${load(dibF)} | ${cell(imgF)}${steps(imgF)} | ${load(imgF)} | ${target} | ${ratio} |`;
  const table = (name, title) => {
    const d = (k) => F[`dib-${name}-${k}`];
    const i = (k) => F[`img-${name}-${k}`];
    lines.push(`### ${title}`, '', '| measurement | diskimage-builder | load | imgfactory | load | target | ratio / result |', '| --- | --- | --- | --- | --- | --- | --- |');
    const cold = ok(i('cold')) ? i('cold').value : undefined;
    const dcold = ok(d('cold')) ? d('cold').value : undefined;
    lines.push(
      row(MEASUREMENTS.cold, d('cold'), i('cold'), name === 'controller' ? 'imgfactory ≤ 0.8 × DIB' : '',
        cold !== undefined && dcold !== undefined ? `${(cold / dcold).toFixed(2)} × DIB${name === 'controller' ? `, ${verdict(cold / dcold, 0.8, '<=')}` : ''}` : ''),
    );
    const noop = ok(i('noop')) ? i('noop').value : undefined;
    lines.push(row(MEASUREMENTS.noop, d('noop'), i('noop'), '≤ 2 s', noop !== undefined ? `${verdict(noop, 2, '<=')}${ok(d('noop')) ? `; DIB ${(d('noop').value / noop).toFixed(0)} × slower` : ''}` : ''));
    const fin = ok(i('finalise')) ? i('finalise').value : undefined;
    lines.push(
      row(MEASUREMENTS.finalise, d('finalise'), i('finalise'), '≤ 0.15 × cold',
        fin !== undefined && cold !== undefined ? `${(fin / cold).toFixed(3)} × cold, ${verdict(fin / cold, 0.15, '<=')}` : ''),
    );
    if (name === 'minimal') {
      const nc = ok(i('nocache')) ? i('nocache').value : undefined;
      lines.push(
        row(MEASUREMENTS.nocache, undefined, i('nocache'), 'cold ≤ 1.10 × this',
          nc !== undefined && cold !== undefined ? overhead(cold, nc) : ''),
      );
      const p = F['pack-throughput'];
      const a = F['apply-throughput'];
      lines.push(row('layer pack throughput', undefined, p, '≥ 200 MB/s', ok(p) ? `${verdict(p.value, 200, '>=')}; ${p.perCpu} MB per CPU-s; ${p.tarMB} MB tar → ${p.zstdMB} MB zstd` : ''));
      lines.push(row('layer apply throughput', undefined, a, '', ok(a) ? `${a.perCpu} MB per CPU-s` : ''));
    }
    lines.push(row(MEASUREMENTS['cache-size'], undefined, i('cache-size'), '', ''));
    lines.push(row(MEASUREMENTS['cache-size-after-finalise'], undefined, i('cache-size-after-finalise'), '', ''));
    lines.push(row(MEASUREMENTS.output, d('output'), i('output'), '', ''));
    lines.push('');
  };
  table('minimal', 'debian-minimal, `-t tar`');
  beforeAfter(data, lines);
  table('controller', 'The controller package set (`-p`), `-t tar`');
  lines.push('Figures were taken at (UTC):', '');
  for (const [k, f] of Object.entries(F).sort()) lines.push(`- ${k}: ${cell(f)}, ${f.at}`);
  lines.push('', END);
  return lines.join('\n');
}

export async function writeResults(root, results) {
  const jsonFile = path.join(root, 'bench/results/dib-compare.json');
  await mkdir(path.dirname(jsonFile), { recursive: true });
  const old = JSON.parse(await readFile(jsonFile, 'utf8').catch(() => '{"figures":{}}'));
  const compare = results.compare ?? old.compare;
  const data = { machine: results.machine, ...(compare ? { compare } : {}), figures: { ...old.figures, ...results.figures } };
  await writeFile(jsonFile, `${JSON.stringify(data, null, 2)}\n`);
  await writeSection(path.join(root, 'bench/RESULTS.md'), START, END, render(data));
}

/** Puts `section` (which starts with `start` and ends with `end`) in place of the one between those markers in `md`, or at its end. */
export async function writeSection(md, start, end, section) {
  let text = await readFile(md, 'utf8').catch(() => '# Benchmark results\n');
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  text = a >= 0 && b > a ? text.slice(0, a) + section + text.slice(b + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(md, text);
}
