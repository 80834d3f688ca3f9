// The controller with the default disk output (issue 17): overcloud-control
// `-t qcow2` cold, no-op and with one finalise.d hook changed; overcloud-
// compute in the same cache and alone (one cache vs two); diskimage-builder's
// cold `-t tar` of the controller's package set in the same run. Each build
// records its wall time, the load, where the time went (from the build's
// log), the peak memory of the build's processes and the peak disk of its
// cache, build and output directories. Writes bench/results/controller-qcow2.json
// and the controller-qcow2 section of bench/RESULTS.md.
//
//   node bench/controller-qcow2.mjs [--work DIR] [--only control,finalise,compute,dib] [--render]
//
// Groups (in order; results are written after each build):
//   control   cache S: overcloud-control bench-finalise cold, then the no-op
//   finalise  cache S: the bench-finalise hook edited, built again (needs control),
//             with the cache's files dropped from the page cache first: a
//             runner that restored its cache has none of it in memory, and
//             mkfs reads every file of the restored tree
//   compute   overcloud-compute in cache S (the second image), then alone in cache C
//   dib       disk-image-create -t tar debian-minimal bench-finalise bench-debconf -p <controller packages>
//
// Memory: every 2 s the resident set sizes of all processes below this one
// are summed (the build, its tools, dpkg in the sandbox); the peak is kept.
// /usr/bin/time's figure (the largest single process) is kept beside it.
// Disk: every 10 s `du -sb` of the build's cache, build and output
// directories (hard links once), the peak kept.
import { execa } from 'execa';
import { cp, mkdir, readFile, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dibCommand, dibEnvironment } from './lib/dib.mjs';
import { evictPageCache, fileBytes, machine, stamp, timed, treeBytes } from './lib/measure.mjs';
import { machineSentence, writeSection } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const { values: opt } = parseArgs({
  options: {
    work: { type: 'string', default: process.env.BENCH_WORK ?? '/var/tmp/imgfactory-bench-qcow2' },
    only: { type: 'string' },
    render: { type: 'boolean' },
  },
});
const work = path.resolve(opt.work);
const only = opt.only ? new Set(opt.only.split(',')) : null;
const want = (g) => !only || only.has(g);
const JSON_FILE = path.join(here, 'results', 'controller-qcow2.json');
const START = '<!-- controller-qcow2:start (written by bench/controller-qcow2.mjs) -->';
const END = '<!-- controller-qcow2:end -->';
const saved = JSON.parse(await readFile(JSON_FILE, 'utf8').catch(() => '{"figures":{}}'));

if (opt.render) {
  await render();
  process.exit(0);
}
saved.machine = await machine();

const elements = path.join(work, 'elements');
const packages = (await readFile(path.join(here, 'controller-packages.txt'), 'utf8'))
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter(Boolean);

/** Sums the RSS of every process below this one, every 2 s; `stop()` returns the peak in bytes. */
function memorySampler() {
  let peak = 0;
  const sample = async () => {
    const children = new Map();
    for (const pid of await readdir('/proc').catch(() => [])) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
      if (!stat) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      children.set(Number(pid), { ppid: Number(fields[1]), rss: Number(fields[21]) * 4096 });
    }
    const below = new Set([process.pid]);
    let total = 0;
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, p] of children) {
        if (!below.has(pid) && below.has(p.ppid)) {
          below.add(pid);
          total += p.rss;
          grew = true;
        }
      }
    }
    peak = Math.max(peak, total);
  };
  const timer = setInterval(() => void sample(), 2000);
  return { stop: () => (clearInterval(timer), peak) };
}

/** `du -sb` of `dirs` every 10 s; `stop()` returns the peak of their sum. */
function diskSampler(dirs) {
  let peak = 0;
  let busy = false;
  const sample = async () => {
    if (busy) return;
    busy = true;
    const r = await execa('du', ['-sbc', ...dirs], { reject: false });
    const total = Number(/^(\d+)\s+total$/m.exec(r.stdout)?.[1] ?? 0);
    peak = Math.max(peak, total);
    busy = false;
  };
  const timer = setInterval(() => void sample(), 10_000);
  return { stop: async () => (clearInterval(timer), await sample(), peak) };
}

/** Seconds between the build log's first and last lines matching each pattern (HH:MM:SS stamps). */
function phases(log) {
  const at = (re) => {
    const m = log.split('\n').find((l) => re.test(l))?.match(/^(\d\d):(\d\d):(\d\d)/);
    return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : undefined;
  };
  const span = (a, b) => (a !== undefined && b !== undefined ? b - a : undefined);
  const qcow2 = /qcow2: \S+ clusters compressed on (\d+) thread\(s\) in ([\d.]+) s(?:; (\d+) of (\d+) reused)?/.exec(log);
  return {
    mkfs: span(at(/image \| \$ mkfs\.ext4/), at(/image \| \$ dumpe2fs/)),
    debugfsFsck: span(at(/image \| \$ dumpe2fs/), at(/image \| sfdisk script/)),
    qcow2Writer: qcow2 ? Number(qcow2[2]) : undefined,
    qcow2Threads: qcow2 ? Number(qcow2[1]) : undefined,
    ...(qcow2?.[3] ? { clustersReused: Number(qcow2[3]), clustersCompressed: Number(qcow2[4]) } : {}),
    assembly: span(at(/image \| tree: /), at(/image \| output: /)),
    publish: span(at(/image \| output: /), at(/^\d\d:\d\d:\d\d output /)),
  };
}

/** One imgfactory build, timed, with its phases, peaks and steps. */
async function build(figure, images, dir, extra = []) {
  const d = (x) => path.join(work, dir, x);
  await mkdir(d(''), { recursive: true });
  const summary = path.join(work, 'logs', `${figure}.json`);
  const args = ['build', ...images, '--elements-path', elements, '-t', 'qcow2', '--no-sign', '--cache-dir', d('cache'), '--build-dir', d('build'), '-o', d('out'), '--json-file', summary, ...extra];
  console.log(`${figure}: imgfactory ${args.join(' ')}`);
  const timeFile = path.join(work, 'logs', `${figure}.time`);
  await mkdir(path.dirname(timeFile), { recursive: true });
  const mem = memorySampler();
  const disk = diskSampler([d('cache'), d('build'), d('out')].filter(Boolean));
  const r = await timed('/usr/bin/time', ['-v', '-o', timeFile, process.execPath, path.join(root, 'bin/imgfactory.js'), ...args], { cwd: work, log: path.join(work, 'logs', `${figure}.log`) });
  const peakRss = mem.stop();
  const peakDisk = await disk.stop();
  const time = await readFile(timeFile, 'utf8').catch(() => '');
  const json = JSON.parse(await readFile(summary, 'utf8').catch(() => '{}'));
  const fig = {
    seconds: r.seconds,
    exitCode: r.exitCode,
    load: [r.loadBefore[0], r.loadAfter[0]],
    built: json.built,
    cached: json.cached,
    steps: Number((json.steps ?? []).reduce((s, x) => s + x.seconds, 0).toFixed(1)),
    phases: phases(await readFile(r.log, 'utf8')),
    peakRssBytes: peakRss,
    largestProcessRssBytes: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(time)?.[1] ?? 0) * 1024,
    peakDiskBytes: peakDisk,
    cacheBytes: await treeBytes(d('cache')),
    qcow2Bytes: await fileBytes(path.join(d('out'), `${images[0]}.qcow2`)),
    at: stamp(),
    commit: saved.machine.commit,
  };
  saved.figures[figure] = fig;
  console.log(`  ${fig.seconds} s (exit ${fig.exitCode}), load ${fig.load.join(' → ')}, ${fig.built} built, ${fig.cached} cached, phases ${JSON.stringify(fig.phases)}`);
  await save();
  return fig;
}

async function save() {
  await mkdir(path.dirname(JSON_FILE), { recursive: true });
  await writeFile(JSON_FILE, `${JSON.stringify(saved, null, 2)}\n`);
  await render();
}

await mkdir(work, { recursive: true });
if (want('control')) {
  await rm(elements, { recursive: true, force: true });
  await cp(path.join(here, 'elements'), elements, { recursive: true });
  await rm(path.join(work, 'shared'), { recursive: true, force: true });
  await build('control-cold', ['overcloud-control', 'bench-finalise'], 'shared');
  await build('control-noop', ['overcloud-control', 'bench-finalise'], 'shared');
}
if (want('finalise')) {
  await appendFile(path.join(elements, 'bench-finalise/finalise.d/90-bench-finalise'), `echo "edit ${stamp()}" >> /etc/bench-finalise\n`);
  console.log(`page cache: ${await evictPageCache(path.join(work, 'shared', 'cache'))} files of the cache dropped`);
  await build('control-finalise', ['overcloud-control', 'bench-finalise'], 'shared');
  // Nothing changed since: the no-op after an incremental build.
  await build('control-noop-after-finalise', ['overcloud-control', 'bench-finalise'], 'shared');
}
if (want('compute')) {
  await build('compute-after-control', ['overcloud-compute'], 'shared');
  await rm(path.join(work, 'compute'), { recursive: true, force: true });
  await build('compute-alone', ['overcloud-compute'], 'compute');
}
if (want('dib')) {
  const env = dibEnvironment(work, elements);
  await rm(env.DIB_IMAGE_CACHE, { recursive: true, force: true });
  await mkdir(env.TMPDIR, { recursive: true });
  const mem = memorySampler();
  const r = await timed(...dibCommand(work, ['-x', '-t', 'tar', '-o', path.join(work, 'out-dib', 'controller'), 'debian-minimal', 'bench-finalise', 'bench-debconf', '-p', packages.join(',')]), {
    env,
    cwd: work,
    log: path.join(work, 'logs', 'dib-cold.log'),
  });
  saved.figures['dib-cold'] = { seconds: r.seconds, exitCode: r.exitCode, load: [r.loadBefore[0], r.loadAfter[0]], peakRssBytes: mem.stop(), at: stamp(), commit: saved.machine.commit };
  console.log(`dib-cold: ${r.seconds} s (exit ${r.exitCode})`);
  await save();
}

async function render() {
  const f = saved.figures;
  const gb = (n) => (n ? `${(n / 1e9).toFixed(2)} GB` : '');
  const s = (n) => (n === undefined ? '' : `${n} s`);
  const row = (label, x) =>
    x
      ? `| ${label} | ${x.exitCode ? `failed (exit ${x.exitCode})` : `${x.seconds} s`} | ${x.load.join(' → ')} | ${x.built ?? ''}/${x.cached ?? ''} | ${s(x.steps)} | ${s(x.phases?.mkfs)} | ${s(x.phases?.qcow2Writer)}${x.phases?.clustersReused !== undefined ? ` (${x.phases.clustersReused}/${x.phases.clustersCompressed} reused)` : ''} | ${s(x.phases?.publish)} | ${gb(x.peakRssBytes)} (${gb(x.largestProcessRssBytes)}) | ${gb(x.peakDiskBytes)} | ${gb(x.cacheBytes)} | ${x.at} ${x.commit} |`
      : `| ${label} | not measured |  |  |  |  |  |  |  |  |  |  |`;
  const ratio = (a, b, target) => (a && b && !a.exitCode && !b.exitCode ? `${(a.seconds / b.seconds).toFixed(3)} ×${target ? ` (target ${target}: ${a.seconds / b.seconds <= Number(target.replace(/[^\d.]/g, '')) ? 'met' : 'NOT met'})` : ''}` : 'not measured');
  const m = saved.machine ?? {};
  const lines = [
    START,
    '',
    '## The controller\'s default qcow2: cold, no-op, one finalise hook changed (issue 17)',
    '',
    `\`node bench/controller-qcow2.mjs\` (see the script's header). ${m.date ? machineSentence(m) : ''} Load is the 1-minute load average before → after each build on 2 cores, shared with two other sessions' builds and tests: read the ratios, not the seconds. Packages come from deb.debian.org. Columns: steps built/cached; steps = the sum of step times; mkfs = \`mkfs.ext4 -d\` of the root tree; qcow2 = imgfactory's qcow2 writer (threads compressing); publish = hashing and moving the output into place and into the cache; memory = the peak of the summed RSS of every process of the build (the largest single process in brackets); disk = the peak of cache + build + output directories.`,
    '',
    '| build | time | load | built/cached | steps | mkfs | qcow2 | publish | peak memory | peak disk | cache after | when, commit |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    row('overcloud-control, empty cache', f['control-cold']),
    row('overcloud-control again, nothing changed', f['control-noop']),
    row('overcloud-control, one finalise.d hook changed, no cluster source yet (the first qcow2 this code wrote in the cache)', f['control-finalise-no-source']),
    row('overcloud-control, one finalise.d hook changed (the cache\'s files dropped from the page cache first)', f['control-finalise']),
    row('overcloud-control again after that (no-op)', f['control-noop-after-finalise']),
    row('overcloud-compute in the same cache', f['compute-after-control']),
    row('overcloud-compute alone, empty cache', f['compute-alone']),
    '',
    `- finalise-changed / cold: ${ratio(f['control-finalise'], f['control-cold'], '≤ 0.15')}; no-op: ${f['control-noop'] ? `${f['control-noop'].seconds} s` : 'not measured'}`,
    `- control + compute in one cache, time: ${f['control-cold'] && f['compute-after-control'] && f['compute-alone'] ? `${((f['control-cold'].seconds + f['compute-after-control'].seconds) / (f['control-cold'].seconds + f['compute-alone'].seconds)).toFixed(2)} × the two caches apart` : 'not measured'}; cache size: ${f['compute-after-control'] && f['control-noop'] && f['compute-alone'] ? `${gb(f['compute-after-control'].cacheBytes)} in one vs ${gb(f['control-noop'].cacheBytes)} + ${gb(f['compute-alone'].cacheBytes)} apart = ${(f['compute-after-control'].cacheBytes / (f['control-noop'].cacheBytes + f['compute-alone'].cacheBytes)).toFixed(2)} ×` : 'not measured'}`,
    `- diskimage-builder, cold \`-t tar\` of the controller's packages: ${f['dib-cold'] ? `${f['dib-cold'].exitCode ? `failed (exit ${f['dib-cold'].exitCode})` : `${f['dib-cold'].seconds} s`} (load ${f['dib-cold'].load.join(' → ')}); imgfactory's cold qcow2 / DIB's cold tar: ${ratio(f['control-cold'], f['dib-cold'], '≤ 0.8')}` : 'not measured in this run'}`,
    '',
    END,
  ];
  await writeSection(path.join(here, 'RESULTS.md'), START, END, lines.join('\n'));
}
