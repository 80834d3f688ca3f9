// Boots a disk image in qemu (TCG, 1 GiB, no network) until the serial
// console shows a login prompt or the time is up; qemu is killed either way.
// qemu and OVMF come from the test tools tree (test-tools.ts); the image
// must be under the run's scratch directory, which the tree sees.
import { spawn } from 'node:child_process';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { scratchDir } from './run-dir.js';
import { scaled } from './slowdown.js';
import { inTestTools, testToolsRoot } from './test-tools.js';

/** How long a boot may take to show its login prompt: 240 s on the reference host, stretched here (slowdown.ts). */
export const BOOT_TIMEOUT_S = Math.round(scaled(240_000) / 1000);
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface Boot {
  ok: boolean;
  seconds: number;
  log: string;
}

/** Boots `image` in qemu until `login:` shows on the serial console or the time is up; qemu is killed either way. */
export async function boot(image: string, firmware: 'seabios' | 'ovmf', machine: 'pc' | 'q35'): Promise<Boot> {
  const dir = await scratchDir('qemu');
  const log = path.join(dir, 'serial.log');
  const args = ['-machine', machine, '-accel', 'tcg', '-m', '1024', '-smp', '1', '-nographic', '-nic', 'none', '-snapshot', '-monitor', 'none'];
  if (firmware === 'ovmf') {
    const vars = path.join(dir, 'vars.fd');
    await copyFile(path.join(await testToolsRoot(), OVMF_VARS), vars);
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`);
  }
  args.push('-drive', `file=${image},format=qcow2,if=virtio`, '-serial', `file:${log}`);
  const qemu = spawn(...inTestTools('qemu-system-x86_64', args), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  qemu.on('exit', () => (exited = true));
  const start = Date.now();
  let text = '';
  try {
    while ((Date.now() - start) / 1000 < BOOT_TIMEOUT_S && !exited) {
      await new Promise((r) => setTimeout(r, 2000));
      text = await readFile(log, 'latin1').catch(() => '');
      if (showsLoginPrompt(text)) return { ok: true, seconds: Math.round((Date.now() - start) / 1000), log: text };
    }
    return { ok: false, seconds: Math.round((Date.now() - start) / 1000), log: `${text}\n--- qemu stderr ---\n${stderr}` };
  } finally {
    if (!exited) qemu.kill('SIGKILL');
  }
}

/**
 * True once getty's prompt (`<host> login: `) is on the console. Kernel
 * messages may follow it on the same line, so the prompt need not end it.
 */
export function showsLoginPrompt(console: string): boolean {
  return /^\S+ login: /m.test(console.replace(/\r/g, ''));
}

export function tail(log: string): string {
  return log.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').split('\n').slice(-40).join('\n');
}

