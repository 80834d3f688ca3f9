// The proof that assembled images boot: one small kernel tree per run
// (mmdebstrap minbase + linux-image-amd64, GRUB for BIOS and EFI, systemd, no
// recommends), assembled with the built-in `efi` and `mbr` layouts, booted in
// qemu (TCG, 1 GiB, no network) until the serial console shows `login:`.
// The efi image boots under SeaBIOS and OVMF, the mbr image under SeaBIOS.
import { spawn } from 'node:child_process';
import { access, copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { assembleImage, type AssembleResult } from '../../src/image/assemble.js';
import { loadLayout } from '../../src/image/layout-load.js';
import { runDir, scratchDir } from '../support/run-dir.js';

const MIRROR = process.env.DIB_DISTRIBUTION_MIRROR ?? 'http://deb.debian.org/debian';
const BOOT_TIMEOUT_S = 240;
const EPOCH = 1700000000;
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** The kernel tree, built once per run into the shared run directory. */
async function kernelTree(): Promise<string> {
  const dir = path.join(runDir(), 'image-kernel-tree');
  const done = `${dir}.complete`;
  try {
    await access(done);
    return dir;
  } catch {
    // build it below
  }
  await execa(
    'mmdebstrap',
    [
      '--variant=minbase',
      '--mode=root',
      '--aptopt=Apt::Install-Recommends "false"',
      '--include=linux-image-amd64,initramfs-tools,systemd-sysv,grub-pc-bin,grub-efi-amd64-bin',
      '--customize-hook=echo imgtest > "$1/etc/hostname"',
      'bookworm',
      dir,
      MIRROR,
    ],
    { env: { SOURCE_DATE_EPOCH: String(EPOCH) } },
  );
  await writeFile(done, '');
  return dir;
}

/** Everything about a tree except atimes (which reading changes), hashed. */
async function fingerprint(dir: string): Promise<string> {
  const r = await execa('sh', ['-c', `cd "$1" && find . -printf '%p %y %m %U %G %s %T@ %l\\n' | LC_ALL=C sort | sha256sum`, 'sh', dir]);
  return r.stdout;
}

interface Boot {
  ok: boolean;
  seconds: number;
  log: string;
}

/** Boots `image` in qemu until `login:` shows on the serial console or the time is up; qemu is killed either way. */
async function boot(image: string, firmware: 'seabios' | 'ovmf', machine: 'pc' | 'q35'): Promise<Boot> {
  const dir = await scratchDir('qemu');
  const log = path.join(dir, 'serial.log');
  const args = ['-machine', machine, '-accel', 'tcg', '-m', '1024', '-smp', '1', '-nographic', '-nic', 'none', '-snapshot', '-monitor', 'none'];
  if (firmware === 'ovmf') {
    const vars = path.join(dir, 'vars.fd');
    await copyFile(OVMF_VARS, vars);
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`);
  }
  args.push('-drive', `file=${image},format=qcow2,if=virtio`, '-serial', `file:${log}`);
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
      if (/login: *$/m.test(text)) return { ok: true, seconds: Math.round((Date.now() - start) / 1000), log: text };
    }
    return { ok: false, seconds: Math.round((Date.now() - start) / 1000), log: `${text}\n--- qemu stderr ---\n${stderr}` };
  } finally {
    if (!exited) qemu.kill('SIGKILL');
  }
}

function tail(log: string): string {
  return log.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').split('\n').slice(-40).join('\n');
}

describe('bootable images from a kernel tree', () => {
  let tree: string;
  let efi: AssembleResult;
  let mbr: AssembleResult;
  let treeBefore: string;
  const figures: string[] = [];

  async function assemble(layoutName: string, formats: Array<'raw' | 'qcow2'>): Promise<AssembleResult> {
    const layout = await loadLayout(layoutName);
    if (!layout.ok) throw new Error(JSON.stringify(layout.error));
    const t = Date.now();
    const r = await assembleImage({
      rootDir: tree,
      layout: layout.value,
      seed: `test-image-key-${layoutName}`,
      sourceDateEpoch: EPOCH,
      formats,
      outputDir: await scratchDir(`image-out-${layoutName}`),
      name: `test-${layoutName}`,
      workDir: await scratchDir('image-work'),
    });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const sizes = r.value.outputs.map((o) => `${o.format} ${(o.size / 2 ** 20).toFixed(1)} MiB`).join(', ');
    figures.push(`${layoutName}: assembled in ${((Date.now() - t) / 1000).toFixed(1)} s; ${sizes}; tree ${(r.value.layoutUsed.rootFs.treeBytes / 2 ** 20).toFixed(0)} MiB`);
    return r.value;
  }

  beforeAll(async () => {
    tree = await kernelTree();
    treeBefore = await fingerprint(tree);
    efi = await assemble('efi', ['raw', 'qcow2']);
    mbr = await assemble('mbr', ['qcow2']);
  });

  it('leaves the root tree unmodified', async () => {
    expect(await fingerprint(tree)).toBe(treeBefore);
  });

  it('wrote the efi layout: GPT with ESP, BIOS boot and root; qcow2 with the raw size', async () => {
    const raw = efi.outputs.find((o) => o.format === 'raw')!;
    const qcow2 = efi.outputs.find((o) => o.format === 'qcow2')!;
    const dump = (await execa('sfdisk', ['--dump', raw.path])).stdout;
    expect(dump).toMatch(/label: gpt/);
    expect(dump).toMatch(/type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B.*name="ESP"/);
    expect(dump).toMatch(/type=21686148-6449-6E6F-744E-656564454649.*name="BSP"/);
    expect(dump).toMatch(/name="root", attrs="LegacyBIOSBootable"/);
    expect(qcow2.virtualSize).toBe(raw.size);
    expect(qcow2.size).toBeLessThan(raw.size / 2);
  });

  it('is reproducible: the same inputs give the same raw bytes', async () => {
    const again = await assemble('efi', ['raw']);
    expect(again.outputs[0]!.sha256).toBe(efi.outputs.find((o) => o.format === 'raw')!.sha256);
  }, 600_000);

  it('boots the efi image under SeaBIOS', async () => {
    const r = await boot(efi.outputs.find((o) => o.format === 'qcow2')!.path, 'seabios', 'q35');
    figures.push(`efi/SeaBIOS: login prompt after ${r.seconds} s`);
    expect(r.ok, `no login prompt within ${BOOT_TIMEOUT_S} s; console:\n${tail(r.log)}`).toBe(true);
  }, 300_000);

  it('boots the efi image under OVMF (UEFI)', async () => {
    const r = await boot(efi.outputs.find((o) => o.format === 'qcow2')!.path, 'ovmf', 'q35');
    figures.push(`efi/OVMF: login prompt after ${r.seconds} s`);
    expect(r.ok, `no login prompt within ${BOOT_TIMEOUT_S} s; console:\n${tail(r.log)}`).toBe(true);
    expect(r.log).toMatch(/efi: EFI v/);
  }, 300_000);

  it('boots the mbr image under SeaBIOS', async () => {
    const r = await boot(mbr.outputs[0]!.path, 'seabios', 'pc');
    figures.push(`mbr/SeaBIOS: login prompt after ${r.seconds} s`);
    expect(r.ok, `no login prompt within ${BOOT_TIMEOUT_S} s; console:\n${tail(r.log)}`).toBe(true);
    console.log(`image figures:\n  ${figures.join('\n  ')}`);
  }, 300_000);
});
