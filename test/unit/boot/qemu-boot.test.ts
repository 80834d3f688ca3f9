// How bootImage judges a boot, with stand-ins for qemu (shell scripts that
// write the serial console file they are given, as qemu does) so each way a
// boot ends takes a second: the real qemu boots real images in
// test/integration/image-boot.root.test.ts.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootImage, kernelStarted, qemuVersion, type BootOptions } from '../../../src/boot/qemu-boot.js';
import { scratchDir } from '../../support/run-dir.js';

/** A stand-in qemu running `body` with $console set to the file after `-serial file:`. */
async function standIn(dir: string, body: string): Promise<string> {
  const file = path.join(dir, 'qemu');
  await writeFile(file, `#!/bin/sh\nfor a; do case "$a" in file:*) console=\${a#file:};; esac; done\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

async function options(body: string, over: Partial<BootOptions> = {}): Promise<BootOptions> {
  const dir = await scratchDir('qemu-boot');
  await mkdir(path.join(dir, 'work'));
  return { image: '/dev/null', format: 'raw', firmware: 'bios', timeoutSeconds: 5, accel: 'tcg', workDir: path.join(dir, 'work'), qemu: await standIn(dir, body), ...over };
}

describe('bootImage', () => {
  it('passes once the console shows the login prompt, and stops qemu', async () => {
    const r = await bootImage(await options('printf "Debian GNU/Linux 12 localhost ttyS0\\r\\n\\r\\nlocalhost login: " > "$console"; exec sleep 30'));
    expect(r.ok && r.value).toMatchObject({ passed: true, ended: 'shown', accel: 'tcg' });
    expect(r.ok && r.value.consoleTail.at(-1)).toBe('localhost login: ');
  });

  it('fails when qemu ends by itself, with the console and what qemu said', async () => {
    const r = await bootImage(await options('echo "reboot: Power down" > "$console"; echo "qemu: terminating" >&2; exit 0'));
    expect(r.ok && r.value).toMatchObject({ passed: false, ended: 'qemu-exited', consoleTail: ['reboot: Power down', 'qemu: qemu: terminating'] });
  });

  it('fails when the time is up, with the console so far', async () => {
    const r = await bootImage(await options('echo "Loading Linux ..." > "$console"; exec sleep 30', { timeoutSeconds: 2 }));
    expect(r.ok && r.value).toMatchObject({ passed: false, ended: 'timeout', consoleTail: ['Loading Linux ...'] });
  });

  it('waits for the caller\'s marker instead of the prompt when given one', async () => {
    const r = await bootImage(await options('printf "localhost login: \\ncloud-init finished\\n" > "$console"; exec sleep 30', { expect: /cloud-init finished/ }));
    expect(r.ok && r.value.passed).toBe(true);
  });

  it('reports a qemu that is not there: the boot ends at once saying so, and its version is a tool failure', async () => {
    const r = await bootImage({ ...(await options('')), qemu: '/nonexistent/qemu-system-x86_64' });
    expect(r.ok && r.value).toMatchObject({ passed: false, ended: 'qemu-exited' });
    expect(r.ok && r.value.consoleTail.join('\n')).toMatch(/nonexistent\/qemu-system-x86_64: not found/);
    const v = await qemuVersion('/nonexistent/qemu-system-x86_64');
    expect(!v.ok && v.error).toMatchObject({ reason: 'tool-failed', tool: '/nonexistent/qemu-system-x86_64' });
  });

  it('takes KVM for working once the kernel prints, not when only GRUB did (a KVM that hangs after GRUB falls back to TCG)', () => {
    const grub = "\x1b[5;3H*Linux\x1b[22;1H   The highlighted entry will be executed automatically in 0s.\x1b[H\x1b[J  Booting `Linux'\r\n";
    expect(kernelStarted('')).toBe(false);
    expect(kernelStarted(grub)).toBe(false);
    expect(kernelStarted(`${grub}[    0.000000] Linux version 6.1.0-41-amd64 (debian-kernel@lists.debian.org)\n`)).toBe(true);
    expect(kernelStarted(`${grub}[    1.234567] virtio_blk virtio1: [vda] 41943040 512-byte logical blocks\n`)).toBe(true);
  });
});
