// The proof that imgfactory's disk images boot: `imgfactory build base vm
// block-device-efi -t qcow2,raw` and the same with block-device-mbr (which
// shares every layer but the efi image's grub-args hook), booted in qemu (TCG, 1 GiB,
// no network) until the serial console shows `login:`. The efi image boots
// under SeaBIOS and OVMF, the mbr image under SeaBIOS. Assembly is also
// checked directly: it leaves the tree untouched and is reproducible. The
// boots run side by side, one guest per core (test/support/qemu-boot.ts).
//
// Secure Boot and the boot gate: block-device-efi-secureboot (one more
// package layer on the same chain) boots with OVMF's Microsoft keys and
// Secure Boot enforced, through `imgfactory test`, which records the pass in
// the signed addendum; the same firmware refuses the efi image's unsigned
// GRUB. An image whose init is broken (fixture broken-init on the mbr chain)
// fails `imgfactory test` with exit 1 and the console's last lines, and
// `publish --require-test` then refuses it before any request.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleImage } from '../../src/image/assemble.js';
import { hexOf, sha256File } from '../../src/cache/digest.js';
import { loadLayout } from '../../src/image/layout-load.js';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory } from '../support/imgfactory.js';
import { consoleShows, consoleTail } from '../../src/boot/console.js';
import { manifestBytes } from '../../src/manifest/canonical.js';
import { readManifest } from '../../src/manifest/read.js';
import { BOOT_TIMEOUT_S, boot, inBootSlot, testFirmwareDir, testQemu } from '../support/qemu-boot.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const EPOCH = '1700000000';
const DISK_ELEMENTS = path.join(FIXTURES, 'elements', 'disk');

interface Output {
  path: string;
  format: string;
  size: number;
  sha256: string;
}

/** Everything about a tree except atimes (which reading changes), hashed. */
async function fingerprint(dir: string): Promise<string> {
  const r = await execa('sh', ['-c', `cd "$1" && find . -printf '%p %y %m %U %G %s %T@ %l\\n' | LC_ALL=C sort | sha256sum`, 'sh', dir]);
  return r.stdout;
}

describe('bootable images built by imgfactory', () => {
  let dir: string;
  let efi: Output[];
  let mbr: Output[];
  let sb: Output[];
  let broken: Output[];
  const manifestOf = (list: Output[]): string => list[0]!.path.replace(/\.[a-z0-9]+$/, '.manifest.json');
  const tail = (log: string): string => consoleTail(log).join('\n');
  /** `imgfactory test` with the test tools' qemu and OVMF, under TCG. */
  const testArgs = async (): Promise<string[]> => ['--qemu', await testQemu(), '--firmware-dir', await testFirmwareDir(), '--accel', 'tcg', '--timeout', String(BOOT_TIMEOUT_S)];
  const figures: string[] = [];

  async function build(name: string, layoutElement: string, types: string, extra: string[] = []): Promise<Output[]> {
    const t = Date.now();
    const r = await imgfactory([
      'build', 'base', 'vm', layoutElement, ...extra, '-n', name, '-t', types, '--json', '--source-date-epoch', EPOCH,
      '--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out'),
    ]);
    if (r.exitCode !== 0) throw new Error(`build of ${name} failed:\n${r.stderr}`);
    const outputs = (JSON.parse(r.stdout) as { outputs: Output[] }).outputs;
    figures.push(`${name}: built in ${((Date.now() - t) / 1000).toFixed(1)} s; ${outputs.map((o) => `${o.format} ${(o.size / 2 ** 20).toFixed(1)} MiB`).join(', ')}`);
    return outputs;
  }

  afterAll(() => console.log(`image figures:\n  ${figures.join('\n  ')}`));

  beforeAll(async () => {
    dir = await scratchDir('boot');
    await cacheWithBase(path.join(dir, 'cache'));
    efi = await build('boot-efi', 'block-device-efi', 'qcow2,raw,tar', ['bd-marker', 'grub-args', '--elements-path', DISK_ELEMENTS]);
    mbr = await build('boot-mbr', 'block-device-mbr', 'qcow2');
    sb = await build('boot-sb', 'block-device-efi-secureboot', 'qcow2');
    broken = await build('boot-broken', 'block-device-mbr', 'qcow2', ['broken-init', '--elements-path', DISK_ELEMENTS]);
  });

  const out = (list: Output[], format: string): Output => list.find((o) => o.format === format)!;

  it('wrote the efi layout: GPT with ESP, BIOS boot and root; qcow2 with the raw size', async () => {
    const raw = out(efi, 'raw');
    const dump = (await execa('sfdisk', ['--dump', raw.path])).stdout;
    expect(dump).toMatch(/label: gpt/);
    expect(dump).toMatch(/type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B.*name="ESP"/);
    expect(dump).toMatch(/type=21686148-6449-6E6F-744E-656564454649.*name="BSP"/);
    expect(dump).toMatch(/name="root", attrs="LegacyBIOSBootable"/);
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', out(efi, 'qcow2').path])).stdout) as Record<string, unknown>;
    expect(info['virtual-size']).toBe(raw.size);
    expect((info['format-specific'] as { data: { compat: string } }).data.compat).toBe('1.1');
    expect(out(efi, 'qcow2').size).toBeLessThan(raw.size / 2);
  });

  it('ran the block-device.d hook at its slot, on the assembled raw file, with the tree read-only', async () => {
    const logs = path.join(dir, 'build', 'logs');
    const run = (await readdir(logs)).find((d) => d.startsWith('boot-efi-'))!;
    const marker = await readFile(path.join(logs, run, 'block-device.d_50-bd-marker.log'), 'utf8');
    expect(marker).toMatch(/^device=\/.+\.raw$/m);
    expect(marker).toMatch(/^type=file$/m);
    expect(marker).toMatch(/label: gpt/);
    expect(marker).toMatch(/name="ESP"/);
    expect(marker).toMatch(/^target-root=read-only$/m);
  });

  it('made the initramfs once, after apt was done, and the image has it', async () => {
    const logs = path.join(dir, 'build', 'logs');
    const run = (await readdir(logs)).find((d) => d.startsWith('boot-efi-'))!;
    const step = (await readdir(path.join(logs, run))).find((f) => f.includes('package-installs_pre-install.d'))!;
    const log = await readFile(path.join(logs, run, step), 'utf8');
    // Without the deferral: once from the kernel's postinst, once from the trigger.
    expect(log.match(/update-initramfs: Generating \/boot\/initrd\.img-/g)).toHaveLength(1);
    expect(log.lastIndexOf('update-initramfs: Generating')).toBeGreaterThan(log.lastIndexOf('Setting up linux-image-amd64'));
    const list = (await execa('tar', ['-tf', out(efi, 'tar').path])).stdout.split('\n');
    expect(list.filter((p) => /^\.\/boot\/initrd\.img-/.test(p))).toHaveLength(1);
    expect(list.filter((p) => p.includes('imgfactory-shims'))).toEqual([]);
  });

  it('wrote the mbr layout: a dos table with one bootable root partition', async () => {
    const raw = path.join(dir, 'mbr.raw');
    await execa('qemu-img', ['convert', '-O', 'raw', out(mbr, 'qcow2').path, raw]);
    const dump = (await execa('sfdisk', ['--dump', raw])).stdout;
    expect(dump).toMatch(/label: dos/);
    expect(dump).toMatch(/type=83, bootable/);
  });

  it('assembles the same tree into the same bytes and leaves the tree untouched', async () => {
    const tree = path.join(dir, 'tree');
    await mkdir(tree, { recursive: true });
    await execa('tar', ['-xf', out(efi, 'tar').path, '-C', tree, '--numeric-owner', '--xattrs', '--xattrs-include=*']);
    const before = await fingerprint(tree);
    const layout = await loadLayout('efi');
    if (!layout.ok) throw new Error(JSON.stringify(layout.error));
    const sums: string[] = [];
    for (const n of [1, 2]) {
      const r = await assembleImage({ rootDir: tree, layout: layout.value, seed: 'same-key', sourceDateEpoch: Number(EPOCH), formats: ['raw'], resultDir: path.join(dir, `again-${n}`), name: 'again', workDir: path.join(dir, 'work') });
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      sums.push(hexOf(await sha256File(r.value.outputs[0]!.path)));
    }
    expect(sums[0]).toBe(sums[1]);
    expect(await fingerprint(tree)).toBe(before);
  }, scaled(600_000));

  it('laid out the Secure Boot ESP as Debian does, with Secure Boot in the Glance properties', async () => {
    const raw = path.join(dir, 'sb.raw');
    await execa('qemu-img', ['convert', '-O', 'raw', out(sb, 'qcow2').path, raw]);
    const dump = (await execa('sfdisk', ['--dump', raw])).stdout;
    expect(dump).not.toMatch(/name="BSP"/);
    const esp = (await execa('mdir', ['-/', '-b', '-i', `${raw}@@1M`, '::'], { env: { MTOOLS_SKIP_CHECK: '1' } })).stdout.split('\n').sort();
    expect(esp).toEqual([
      '::/EFI/', '::/EFI/BOOT/', '::/EFI/BOOT/BOOTX64.EFI', '::/EFI/BOOT/fbx64.efi', '::/EFI/BOOT/grubx64.efi', '::/EFI/BOOT/mmx64.efi',
      '::/EFI/debian/', '::/EFI/debian/BOOTX64.CSV', '::/EFI/debian/grub.cfg', '::/EFI/debian/grubx64.efi', '::/EFI/debian/mmx64.efi', '::/EFI/debian/shimx64.efi',
    ]);
    const m = await readManifest(manifestOf(sb));
    if (!m.ok) throw new Error(JSON.stringify(m.error));
    expect(m.value.manifest.layout).toEqual({ name: 'builtin:efi-secureboot', firmware: 'uefi-secure-boot' });
    expect(m.value.manifest.glance.qcow2).toMatchObject({ hw_firmware_type: 'uefi', os_secure_boot: 'required', hw_machine_type: 'q35' });
  });

  // The boots below run side by side, one guest per core (inBootSlot).
  it.concurrent('boots the efi image under SeaBIOS', async () => {
    const r = await boot(out(efi, 'qcow2').path, 'bios');
    figures.push(`efi/SeaBIOS: login prompt after ${r.seconds} s`);
    expect(r.ok, `no login prompt within ${BOOT_TIMEOUT_S} s; console:\n${tail(r.log)}`).toBe(true);
  }, scaled(300_000));

  it.concurrent('boots the efi image under OVMF (UEFI)', async () => {
    const r = await boot(out(efi, 'qcow2').path, 'uefi');
    figures.push(`efi/OVMF: login prompt after ${r.seconds} s`);
    expect(r.ok, `no login prompt within ${BOOT_TIMEOUT_S} s; console:\n${tail(r.log)}`).toBe(true);
    expect(r.log).toMatch(/efi: EFI v/);
    // grub-args' grub.d snippet reached the kernel (image/grub-defaults.ts), before the image's own arguments.
    expect(r.log).toMatch(/Kernel command line: .* ro imgfactory\.grub_d=1 console=tty0 /);
  }, scaled(300_000));

  it.concurrent('boots the mbr image under SeaBIOS', async () => {
    const r = await boot(out(mbr, 'qcow2').path, 'bios');
    figures.push(`mbr/SeaBIOS: login prompt after ${r.seconds} s`);
    expect(r.ok, `no login prompt within ${BOOT_TIMEOUT_S} s; console:\n${tail(r.log)}`).toBe(true);
  }, scaled(300_000));

  it.concurrent('imgfactory test boots the Secure Boot image with Secure Boot enforced to a login prompt, and records the pass', async () => {
    const manifest = manifestOf(sb);
    // The kernel says Secure Boot is on before the prompt: the firmware enforced it all the way.
    const expectBoth = 'secureboot: Secure boot enabled[\\s\\S]*^\\S+ login: ';
    const r = await inBootSlot(async () => imgfactory(['test', manifest, ...(await testArgs()), '--expect', expectBoth, '--json']));
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { firmware: string; seconds: number; addendum: { file: string; signature: string } };
    figures.push(`sb/OVMF Secure Boot: login prompt after ${report.seconds} s`);
    expect(report.firmware).toBe('secure-boot');
    const addendum = JSON.parse(await readFile(report.addendum.file, 'utf8')) as Record<string, unknown>;
    const m = await readManifest(manifest);
    if (!m.ok) throw new Error(JSON.stringify(m.error));
    expect(addendum).toMatchObject({
      v: 'imgfactory.test.v1',
      result: 'pass',
      firmware: 'secure-boot',
      accel: 'tcg',
      seconds: report.seconds,
      manifest: { name: 'boot-sb.manifest.json', sha256: createHash('sha256').update(manifestBytes(m.value.manifest)).digest('hex') },
      image: { name: 'boot-sb.qcow2', sha256: out(sb, 'qcow2').sha256 },
    });
    expect(addendum.qemu).toMatch(/^QEMU emulator version /);
    expect(await readFile(report.addendum.signature, 'utf8')).toMatch(/"v":"imgfactory.sig.v1"/);
  }, scaled(300_000));

  it.concurrent('the same firmware refuses the efi image, whose GRUB is unsigned', async () => {
    const r = await boot(out(efi, 'qcow2').path, 'secure-boot', /Access Denied|^\S+ login: /m);
    figures.push(`efi/OVMF Secure Boot: refused after ${r.seconds} s`);
    expect(r.log, tail(r.log)).toMatch(/BdsDxe: failed to load Boot\d+ "UEFI Misc Device" .*: Access Denied/);
    expect(consoleShows(r.log)).toBe(false);
  }, scaled(300_000));

  it.concurrent('imgfactory test fails on an image whose init is broken: exit 1, the console\'s last lines; publish --require-test refuses it', async () => {
    const manifest = manifestOf(broken);
    const r = await inBootSlot(async () => imgfactory(['test', manifest, ...(await testArgs())]));
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/boot-broken\.qcow2 did not boot to a login prompt \(bios, tcg\): qemu ended after \d+ s/);
    expect(r.stderr).toMatch(/the console's last lines:\n(  \| .*\n)*  \| .*broken-init: no init here/);
    const addendum = JSON.parse(await readFile(manifest.replace(/\.json$/, '.test.json'), 'utf8')) as Record<string, unknown>;
    expect(addendum).toMatchObject({ result: 'fail', firmware: 'bios' });
    // A cloud nobody listens on (port 9, discard): the refusal comes before any request.
    const p = await imgfactory(['publish', manifest, '--require-test'], { OS_AUTH_URL: 'http://127.0.0.1:9/v3', OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: 'x', OS_APPLICATION_CREDENTIAL_SECRET: 'y' });
    expect(p.exitCode, p.stderr).toBe(4);
    expect(p.stderr).toMatch(/refusing to publish .*boot-broken\.manifest\.json: the last test of this manifest failed \(bios/);
  }, scaled(300_000));
});
