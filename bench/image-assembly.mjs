// Disk image assembly, measured (issue 5): builds `base vm block-device-efi`
// once as a tree (layers cached), then assembles it as raw and as qcow2 from
// the cache, and reports assembly time and sizes. Writes its section of
// bench/RESULTS.md. Run `npx tsc -p tsconfig.json` first; needs root and the
// network (the cold build). diskimage-builder's qcow2 cannot be measured
// beside it on this machine: DIB partitions through kpartx (device-mapper),
// which is missing here.
//
//   node bench/image-assembly.mjs
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/imgfactory.js', import.meta.url));
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const work = await mkdtemp(path.join(process.env.BENCH_TMP ?? os.tmpdir(), 'imgfactory-bench-image-'));
const common = ['base', 'vm', 'block-device-efi', '-n', 'bench', '--json', '--cache-dir', path.join(work, 'cache'), '--build-dir', path.join(work, 'build'), '-o', path.join(work, 'out')];

async function build(types, extra = []) {
  const load = os.loadavg()[0].toFixed(2);
  const t0 = performance.now();
  const r = await execa('node', [BIN, 'build', ...common, '-t', types, ...extra], { reject: false, env: { CI: 'true' } });
  const wall = (performance.now() - t0) / 1000;
  if (r.exitCode !== 0) throw new Error(`build -t ${types} failed:\n${r.stderr}`);
  const summary = JSON.parse(r.stdout);
  const steps = summary.steps.reduce((s, x) => s + x.seconds, 0);
  return { wall, steps, assembly: summary.seconds - steps, outputs: summary.outputs, load: `${load} → ${os.loadavg()[0].toFixed(2)}` };
}

const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
try {
  const tree = await build('tar');
  const raw = await build('raw');
  const qcow2 = await build('qcow2');
  const zlib = await build('qcow2', ['--qcow2-compression', 'zlib']);
  const r = raw.outputs.find((o) => o.format === 'raw');
  const q = qcow2.outputs.find((o) => o.format === 'qcow2');
  const qz = zlib.outputs.find((o) => o.format === 'qcow2');
  const t = tree.outputs.find((o) => o.format === 'tar');
  const section = [
    '<!-- image-assembly:start (written by bench/image-assembly.mjs) -->',
    '',
    '## Disk image assembly (issues 5 and 17)',
    '',
    `\`node bench/image-assembly.mjs\`: \`base vm block-device-efi\` (GPT, ESP + BIOS boot + ext4 root). The tree's layers come from the cache; "assembly" is the build's time minus its steps' (applying the cached layers), i.e. sizing, mkfs.ext4 -d, vfat + GRUB, sfdisk, copying filesystems in, and qemu-img. imgfactory at ${(await execa('git', ['rev-parse', '--short', 'HEAD'])).stdout}. ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${new Date().toISOString()}; load is the 1-minute load average before → after (the host was shared).`,
    '',
    '| measurement | value | load |',
    '| --- | --- | --- |',
    `| root tree (tar) | ${mib(t.size)} | |`,
    `| assembly, raw | ${raw.assembly.toFixed(1)} s (build ${raw.wall.toFixed(1)} s wall) | ${raw.load} |`,
    `| assembly, qcow2 (zstd clusters, the default) | ${qcow2.assembly.toFixed(1)} s (build ${qcow2.wall.toFixed(1)} s wall) | ${qcow2.load} |`,
    `| assembly, qcow2 (zlib clusters, \`--qcow2-compression zlib\`) | ${zlib.assembly.toFixed(1)} s (build ${zlib.wall.toFixed(1)} s wall) | ${zlib.load} |`,
    `| raw image | ${mib(r.size)} | |`,
    `| qcow2 image, zstd | ${mib(q.size)} (${((q.size / r.size) * 100).toFixed(0)} % of raw) | |`,
    `| qcow2 image, zlib | ${mib(qz.size)} (${((qz.size / r.size) * 100).toFixed(0)} % of raw) | |`,
    '| diskimage-builder qcow2, same content | not measurable here: `disk-image-create ... vm` stops at `kpartx -av /dev/loop0` (no device-mapper) | |',
    '',
    '<!-- image-assembly:end -->',
  ].join('\n');
  console.log(section);
  let text = await readFile(RESULTS, 'utf8');
  const start = text.indexOf('<!-- image-assembly:start');
  const end = text.indexOf('<!-- image-assembly:end -->');
  text = start >= 0 && end > start ? text.slice(0, start) + section + text.slice(end + '<!-- image-assembly:end -->'.length) : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(RESULTS, text);
} finally {
  await rm(work, { recursive: true, force: true });
}
