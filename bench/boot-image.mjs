// Boots a built disk image in qemu (TCG: no KVM here) and measures the time
// to the login prompt on the serial console; writes a row for that image to
// bench/RESULTS.md. For images too large to boot in every test run (the
// TripleO images); the test suite boots base+vm images itself. Booting is
// src/boot's (dist/: compile first); qemu and OVMF come from the test tools
// tree (`scripts/test-tools setup` makes it).
//
//   node bench/boot-image.mjs out/overcloud-control.qcow2 [bios|uefi|secure-boot]
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootImage } from '../dist/boot/qemu-boot.js';

const [image, firmware = 'bios'] = process.argv.slice(2);
if (!image || !['bios', 'uefi', 'secure-boot'].includes(firmware)) {
  console.error('usage: node bench/boot-image.mjs IMAGE.qcow2 [bios|uefi|secure-boot]');
  process.exit(2);
}
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const TEST_TOOLS = fileURLToPath(new URL('../scripts/test-tools', import.meta.url));
const toolsRoot = execFileSync(TEST_TOOLS, ['root'], { encoding: 'utf8' }).trim();
const TIMEOUT_S = 900;
const dir = await mkdtemp(path.join(os.tmpdir(), 'imgfactory-boot-'));
const qemu = path.join(dir, 'qemu');
await writeFile(qemu, `#!/bin/sh\nexec "${TEST_TOOLS}" run --bind "${dir}" --ro-bind "${path.dirname(path.resolve(image))}" -- qemu-system-x86_64 "$@"\n`);
await chmod(qemu, 0o755);
const load = os.loadavg()[0].toFixed(2);
const r = await bootImage({
  image: path.resolve(image),
  format: 'qcow2',
  firmware,
  timeoutSeconds: TIMEOUT_S,
  qemu,
  firmwareDir: path.join(toolsRoot, 'usr/share/OVMF'),
  accel: 'tcg',
  memoryMiB: 2048,
  workDir: path.join(dir, 'work'),
});
if (!r.ok) throw new Error(JSON.stringify(r.error));
const seconds = r.value.passed ? r.value.seconds : null;
const size = (await stat(image)).size;
const row = `| ${path.basename(image)} | ${(size / 2 ** 20).toFixed(0)} MiB | ${firmware} | ${seconds === null ? `no login prompt within ${TIMEOUT_S} s (${r.value.ended})` : `${seconds} s`} | ${load} | ${new Date().toISOString().slice(0, 16)}Z |`;
console.log(row);
let text = await readFile(RESULTS, 'utf8');
const START = '<!-- boot:start (written by bench/boot-image.mjs) -->';
const END = '<!-- boot:end -->';
const HEADER = [
  '## Booting built images (TCG, 2 GiB, no KVM)',
  '',
  'Time from starting qemu to `login:` on the serial console. qemu emulates the CPU here (TCG, no KVM), so a real host boots far faster. Load: the 1-minute load average at the start.',
  '',
  '| image | qcow2 size | firmware | login prompt after | load | when |',
  '| --- | --- | --- | --- | --- | --- |',
];
let rows = [];
const start = text.indexOf(START);
const stop = text.indexOf(END);
if (start >= 0 && stop > start) {
  rows = text.slice(start, stop).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| image |') && !l.startsWith('| --- |'));
  text = text.slice(0, start).trimEnd() + '\n\n' + text.slice(stop + END.length).trimStart();
}
rows = [...rows.filter((l) => !l.startsWith(`| ${path.basename(image)} | `) || !l.includes(`| ${firmware} |`)), row];
text = `${text.trimEnd()}\n\n${[START, '', ...HEADER, ...rows, '', END].join('\n')}\n`;
await writeFile(RESULTS, text);
await rm(dir, { recursive: true, force: true });
process.exit(seconds === null ? 1 : 0);
