// Renders the dib-compare figures into bench/RESULTS.md (between the
// dib-compare markers, leaving the other benches' sections alone) and keeps
// every figure in bench/results/dib-compare.json, so a partial run (--only)
// updates its own figures and keeps the others, each with its own date and load.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const START = '<!-- dib-compare:start (written by bench/dib-compare.mjs) -->';
const END = '<!-- dib-compare:end -->';

const fmtBytes = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);

function cell(f) {
  if (!f) return 'not measured';
  if (f.exitCode) return `failed (exit ${f.exitCode})`;
  if (f.unit === 'bytes') return fmtBytes(f.value);
  if (f.value === null || f.value === undefined) return 'no figure';
  return `${f.value} ${f.unit}`;
}
const load = (f) => (f?.loadBefore ? `${f.loadBefore[0]} → ${f.loadAfter[0]}` : '');
const steps = (f) => (f?.steps ? ` (${f.steps.built} built, ${f.steps.cached} cached)` : '');
const ok = (f) => f && !f.exitCode && typeof f.value === 'number';

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

function render(data) {
  const F = data.figures;
  const m = data.machine;
  const lines = [START, '', '## imgfactory vs diskimage-builder (issues 4 and 7)', ''];
  lines.push(
    `\`node bench/dib-compare.mjs\` (see bench/README.md). Machine: ${m.nproc} cores (${m.cpu}), ` +
      `${m.ramGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, diskimage-builder ${m.dib} (Debian), ` +
      `imgfactory at ${m.commit}; last run ${m.date}. The host is shared with other engineers' ` +
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
      row('cold build', d('cold'), i('cold'), name === 'controller' ? 'imgfactory ≤ 0.8 × DIB' : '',
        cold !== undefined && dcold !== undefined ? `${(cold / dcold).toFixed(2)} × DIB${name === 'controller' ? `, ${verdict(cold / dcold, 0.8, '<=')}` : ''}` : ''),
    );
    const noop = ok(i('noop')) ? i('noop').value : undefined;
    lines.push(row('no-op rebuild', d('noop'), i('noop'), '≤ 2 s', noop !== undefined ? `${verdict(noop, 2, '<=')}${ok(d('noop')) ? `; DIB ${(d('noop').value / noop).toFixed(0)} × slower` : ''}` : ''));
    const fin = ok(i('finalise')) ? i('finalise').value : undefined;
    lines.push(
      row('one finalise hook changed', d('finalise'), i('finalise'), '≤ 0.15 × cold',
        fin !== undefined && cold !== undefined ? `${(fin / cold).toFixed(3)} × cold, ${verdict(fin / cold, 0.15, '<=')}` : ''),
    );
    if (name === 'minimal') {
      const nc = ok(i('nocache')) ? i('nocache').value : undefined;
      lines.push(
        row('`--no-cache` cold', undefined, i('nocache'), 'cold ≤ 1.10 × this',
          nc !== undefined && cold !== undefined ? overhead(cold, nc) : ''),
      );
      const p = F['pack-throughput'];
      const a = F['apply-throughput'];
      lines.push(row('layer pack throughput', undefined, p, '≥ 200 MB/s', ok(p) ? `${verdict(p.value, 200, '>=')}; ${p.perCpu} MB per CPU-s; ${p.tarMB} MB tar → ${p.zstdMB} MB zstd` : ''));
      lines.push(row('layer apply throughput', undefined, a, '', ok(a) ? `${a.perCpu} MB per CPU-s` : ''));
    }
    lines.push(row('cache size after cold', undefined, i('cache-size'), '', ''));
    lines.push(row('cache size after the finalise rebuild', undefined, i('cache-size-after-finalise'), '', ''));
    lines.push(row('output tar', d('output'), i('output'), '', ''));
    lines.push('');
  };
  table('minimal', 'debian-minimal, `-t tar`');
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
  const data = { machine: results.machine, figures: { ...old.figures, ...results.figures } };
  await writeFile(jsonFile, `${JSON.stringify(data, null, 2)}\n`);
  const md = path.join(root, 'bench/RESULTS.md');
  let text = await readFile(md, 'utf8').catch(() => '# Benchmark results\n');
  const section = render(data);
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  text = a >= 0 && b > a ? text.slice(0, a) + section + text.slice(b + END.length) : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(md, text);
}
