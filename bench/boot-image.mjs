// Boots a built disk image in qemu (TCG: no KVM here) and measures the time
// to the login prompt on the serial console; writes a row for that image to
// bench/RESULTS.md. For images too large to boot in every test run (the
// TripleO images); the test suite boots base+vm images itself. qemu and OVMF
// come from the test tools tree (`scripts/test-tools setup` makes it).
//
//   node bench/boot-image.mjs out/overcloud-control.qcow2 [seabios|ovmf]
import { execFileSync, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [image, firmware = 'seabios'] = process.argv.slice(2);
if (!image) {
  console.error('usage: node bench/boot-image.mjs IMAGE.qcow2 [seabios|ovmf]');
  process.exit(2);
}
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const TEST_TOOLS = fileURLToPath(new URL('../scripts/test-tools', import.meta.url));
const toolsRoot = execFileSync(TEST_TOOLS, ['root'], { encoding: 'utf8' }).trim();
const TIMEOUT_S = 900;
const dir = await mkdtemp(path.join(os.tmpdir(), 'imgfactory-boot-'));
const log = path.join(dir, 'serial.log');
const args = ['-machine', 'q35', '-accel', 'tcg', '-m', '2048', '-smp', '1', '-nographic', '-nic', 'none', '-snapshot', '-monitor', 'none'];
if (firmware === 'ovmf') {
  await copyFile(path.join(toolsRoot, 'usr/share/OVMF/OVMF_VARS_4M.fd'), path.join(dir, 'vars.fd'));
  args.push('-drive', 'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd', '-drive', `if=pflash,format=raw,file=${path.join(dir, 'vars.fd')}`);
}
args.push('-drive', `file=${path.resolve(image)},format=qcow2,if=virtio`, '-serial', `file:${log}`);
const load = os.loadavg()[0].toFixed(2);
const binds = ['--bind', dir, '--ro-bind', path.dirname(path.resolve(image))];
const qemu = spawn(TEST_TOOLS, ['run', ...binds, '--', 'qemu-system-x86_64', ...args], { stdio: 'ignore' });
const t0 = Date.now();
let seconds = null;
try {
  while ((Date.now() - t0) / 1000 < TIMEOUT_S) {
    await new Promise((r) => setTimeout(r, 2000));
    const text = await readFile(log, 'latin1').catch(() => '');
    if (/login: *$/m.test(text)) {
      seconds = Math.round((Date.now() - t0) / 1000);
      break;
    }
  }
} finally {
  qemu.kill('SIGKILL');
}
const size = (await stat(image)).size;
const row = `| ${path.basename(image)} | ${(size / 2 ** 20).toFixed(0)} MiB | ${firmware} | ${seconds === null ? `no login prompt within ${TIMEOUT_S} s` : `${seconds} s`} | ${load} | ${new Date().toISOString().slice(0, 16)}Z |`;
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
