// diskimage-builder's own elements, unchanged, from the directory Debian's
// python3-diskimage-builder installs them in: debian-minimal is the
// operating system (its root.d runs debootstrap), DIB's base, dpkg,
// package-installs, pkg-map, manifests and friends run with DIB's runtime,
// and the common elements that need nothing beyond that runtime write
// exactly DIB's files. Each build is a cached build like any other.
//
// Two images: debian-minimal alone, and debian-minimal with every common
// element (one debootstrap and one package install for all of them, not one
// per group); the last two tests each read what their elements made in the
// second.
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, imgfactory, type Run } from '../support/imgfactory.js';
import { FIXTURES } from '../support/fixtures.js';
import { scratchDir } from '../support/run-dir.js';
import { boot } from '../support/qemu-boot.js';
import { scaled } from '../support/slowdown.js';

const DIB = '/usr/lib/python3/dist-packages/diskimage_builder/elements';
/** Elements written against DIB's mechanisms (svc-map, package-installs), searched before DIB's. */
const DIB_USERS = path.join(FIXTURES, 'elements', 'dib-users');
const LONG = scaled(1_200_000);

interface Summary {
  steps: { id: string; status: string }[];
  built: number;
  cached: number;
}

async function build(dir: string, images: string[], name: string, env: Record<string, string> = {}, types = 'tar'): Promise<Run & { summary: Summary }> {
  const args = ['build', ...images, '-n', name, '-t', types, '--json', '--elements-path', `${DIB_USERS}:${DIB}`, '--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out')];
  const r = await imgfactory(args, env);
  if (r.exitCode !== 0) throw new Error(`imgfactory ${args.join(' ')} failed (${r.exitCode}):\n${r.stderr.slice(-4000)}`);
  return { ...r, summary: JSON.parse(r.stdout) as Summary };
}

/** Extracts `members` of an output tar into a fresh directory and returns it. */
async function extract(tar: string, dir: string, members: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  await execa('tar', ['-xf', tar, '-C', dir, ...members]);
  return dir;
}

/** The common elements, in one image on debian-minimal. */
const COMMON = [
  'debian-minimal',
  // vm needs the virtual block-device: block-device-mbr comes in, as disk-image-create adds it for vm.
  'vm',
  'modprobe',
  'disable-nouveau',
  'journal-to-console',
  'enable-serial-console',
  'select-boot-kernel-initrd',
  'sysctl',
  'svc-map',
  // A fixture that maps a service name with svc-map: its two extra-data.d hooks pass the map through the tree's /tmp.
  'dib-user',
  'cloud-init',
  'cloud-init-datasources',
  'devuser',
  'growroot',
  'dhcp-all-interfaces',
  'install-static',
  'openssh-server',
  'runtime-ssh-host-keys',
  'install-types',
  'dib-init-system',
  'cache-url',
  'source-repositories',
  'pkg-map',
  'package-installs',
  'manifests',
];

/** The common image's directory, its variables (each element's knobs), its build and its tar's listing. */
let common: { dir: string; env: Record<string, string>; built: Run & { summary: Summary }; tar: string; listing: string[] };

describe("diskimage-builder's elements, unchanged", () => {
  beforeAll(async () => {
    const dir = await scratchDir('dib-common');
    // devuser's extra-data.d copies the host file DIB_DEV_USER_AUTHORIZED_KEYS names into $TMP_HOOKS_PATH for its install.d.
    const keys = path.join(dir, 'authorized_keys');
    await writeFile(keys, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench devuser@imgfactory-test\n');
    const env = { DIB_MODPROBE_BLACKLIST: 'floppy', DIB_PYTHON_VERSION: '3', DIB_CLOUD_INIT_DATASOURCES: 'ConfigDrive', DIB_DEV_USER_AUTHORIZED_KEYS: keys };
    const built = await build(dir, COMMON, 'dib-common', env, 'tar,qcow2');
    const tar = path.join(dir, 'out', 'dib-common.tar');
    common = { dir, env, built, tar, listing: (await execa('tar', ['-tf', tar])).stdout.split('\n') };
  }, LONG);

  it(
    'debian-minimal alone makes the tree with its own root.d, installs what DIB installs, rebuilds as a no-op, and stops at break= for a shell',
    async () => {
      const dir = await scratchDir('dib-minimal');
      const cold = await build(dir, ['debian-minimal'], 'debian-minimal');
      expect(cold.stderr).toContain('note: operating-system: provided by the element debian-minimal, whose hooks make the tree');
      expect(cold.stderr).toContain("package-installs (/usr/lib/python3/dist-packages/diskimage_builder/elements/package-installs): its hooks are replaced by imgfactory's own package steps");
      expect(cold.summary.steps[0]!.id).toBe('debootstrap/root.d/08-debootstrap');
      expect(cold.summary.steps.some((s) => s.id.startsWith('distro/'))).toBe(false);
      expect(cold.summary.steps.map((s) => s.id)).toEqual(expect.arrayContaining(['debian-minimal/root.d/75-debian-minimal-baseinstall', 'base/install.d/00-baseline-environment', 'dpkg/cleanup.d/40-unblock-daemons']));

      const tar = path.join(dir, 'out', 'debian-minimal.tar');
      const listing = (await execa('tar', ['-tf', tar])).stdout.split('\n');
      for (const f of ['./usr/lib/systemd/systemd', './usr/bin/python3', './usr/local/bin/install-packages', './usr/local/bin/dib-init-system', './usr/share/pkg-map/debootstrap', './etc/dib-manifests/dib-manifest-dpkg-debian-minimal']) {
        expect(listing, f).toContain(f);
      }
      expect(listing.some((f) => /^\.\/boot\/vmlinuz-/.test(f))).toBe(true);
      expect(listing).not.toContain('./usr/sbin/policy-rc.d');
      const tree = await extract(tar, path.join(dir, 'tree'), ['./etc/apt/sources.list.d', './usr/sbin/start-stop-daemon']);
      expect(await readFile(path.join(tree, 'etc/apt/sources.list.d/default.list'), 'utf8')).toBe('deb http://deb.debian.org/debian bookworm main\n');
      expect(await readFile(path.join(tree, 'etc/apt/sources.list.d/security.list'), 'utf8')).toBe('deb http://deb.debian.org/debian-security bookworm-security main\n');
      // dpkg's root.d put a fake start-stop-daemon in place; its cleanup.d put the real one back.
      expect((await readFile(path.join(tree, 'usr/sbin/start-stop-daemon'))).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      const manifest = JSON.parse(await readFile(path.join(dir, 'out', 'debian-minimal.manifest.json'), 'utf8')) as { packages: { name: string }[] };
      expect(manifest.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['systemd-sysv', 'busybox', 'sudo', 'python3', 'linux-image-amd64', 'netbase', 'locales', 'open-iscsi', 'lsb-release']));

      // Again: a no-op. Its extra-data.d hooks are DIB's own that read only their inputs (steps/keyed-extra-data.ts),
      // so they are cached like any step; one that reads the host would run (build-tree.root.test.ts).
      const again = await build(dir, ['debian-minimal'], 'debian-minimal');
      expect(again.summary.built).toBe(0);
      expect(again.summary.cached).toBe(cold.summary.steps.length);

      // DIB's break=: a shell at that point, with the hook environment, for a person at a terminal
      // (here a pseudo-terminal from script(1), fed what the person types) ...
      const args = ['build', 'debian-minimal', '-n', 'debian-minimal', '-t', 'tar', '--elements-path', DIB, '--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out')];
      const typed = 'echo "at=$TARGET_ROOT/etc/debian_version release=$DIB_RELEASE hooks=$TMP_HOOKS_PATH"; cat "$TARGET_ROOT/etc/debian_version"; exit\n';
      const shell = await execa('script', ['-qec', [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], { input: typed, env: { break: 'after-extra-data' }, reject: false });
      expect(shell.exitCode, shell.stdout.slice(-3000)).toBe(0);
      expect(shell.stdout).toContain('break=after-extra-data: starting a debug shell outside the tree (TARGET_ROOT)');
      expect(shell.stdout).toMatch(/at=\S+\/step\/merged\/etc\/debian_version release=bookworm hooks=\S+\/hooks/);
      expect(shell.stdout).toMatch(/^12\.\d+\r?$/m);
      expect(shell.stdout).toContain('break=after-extra-data: resuming');
      // ... and without a terminal, refused before anything is built.
      const refused = await imgfactory(args, { break: 'after-error' });
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toContain('break=after-error opens an interactive shell, but imgfactory is not running on a terminal');
      expect(refused.stderr).not.toContain('debootstrap');
    },
    LONG,
  );

  it(
    'vm, bootloader, modprobe, disable-nouveau, journal-to-console, enable-serial-console, select-boot-kernel-initrd, sysctl and svc-map write what DIB writes; `when:` sees environment.d; the qcow2 boots to a login prompt',
    async () => {
      const { dir, built, tar, listing } = common;
      expect(built.stderr).toContain('note: block-device: vm needs it and no element of the image provides it: block-device-mbr is added');
      // DIB's bootloader hook (grub-install on a loop device) is replaced, with a note; the GRUB it installs is in the tree.
      expect(built.stderr).toContain(`note: bootloader (${DIB}/bootloader): its finalise.d/50-bootloader (grub-install on a loop device, grub-mkconfig) is replaced by imgfactory's own boot loader install`);
      expect(built.summary.steps.map((s) => s.id)).toEqual(expect.arrayContaining(['package-installs/finalise.d/01-package-installs', 'vm/finalise.d/50-remove-bogus-udev-links']));
      expect(built.summary.steps.map((s) => s.id)).not.toContain('bootloader/finalise.d/50-bootloader');
      // The disk is block-device-mbr's block-device-default.yaml (one MBR partition with the boot flag), booted with BIOS.
      const manifest = JSON.parse(await readFile(path.join(dir, 'out', 'dib-common.manifest.json'), 'utf8')) as { layout: { name: string; firmware: string } };
      expect(manifest.layout).toEqual({ name: 'block-device-default', firmware: 'bios' });
      const booted = await boot(path.join(dir, 'out', 'dib-common.qcow2'), 'bios');
      expect(booted.ok, booted.log.slice(-3000)).toBe(true);
      expect(listing).toEqual(expect.arrayContaining(['./usr/local/bin/select-boot-kernel-initrd', './usr/local/bin/sysctl-set-value', './usr/local/bin/svc-map']));
      // What hooks left in /tmp went from step to step, and is gone from the image, as in DIB.
      expect(listing.filter((f) => f.startsWith('./tmp/') && f !== './tmp/')).toEqual([]);
      const svc = await extract(tar, path.join(dir, 'svc'), ['./usr/share/svc-map/services', './etc/dib-user-service']);
      expect(await readFile(path.join(svc, 'usr/share/svc-map/services'), 'utf8')).toBe('imgfactory-demo: demo-on-debian\n');
      expect(await readFile(path.join(svc, 'etc/dib-user-service'), 'utf8')).toBe('demo-on-debian\n');
      // dib-user's `when: DIB_USER_FLAVOUR = hello` holds through the default its environment.d sets, as in DIB.
      const installed = (JSON.parse(await readFile(path.join(dir, 'out', 'dib-common.manifest.json'), 'utf8')) as { packages: { name: string }[] }).packages.map((p) => p.name);
      expect(installed).toContain('hello');
      expect(installed).toEqual(expect.arrayContaining(['grub-pc', 'grub-pc-bin', 'linux-image-amd64']));
      expect(installed).not.toContain('cowsay');
      // select-boot-kernel-initrd's copy of DIB's img-functions is gone again (its cleanup.d).
      expect(listing.filter((f) => f.startsWith('./lib/diskimage-builder') || f.startsWith('./usr/lib/diskimage-builder'))).toEqual([]);
      const tree = await extract(tar, path.join(dir, 'tree'), ['./etc/modprobe.d', './etc/systemd/journald.conf.d', './etc/udev/rules.d/99-serial-console.rules']);
      expect(await readFile(path.join(tree, 'etc/modprobe.d/blacklist.conf'), 'utf8')).toBe('blacklist floppy\n');
      expect(await readFile(path.join(tree, 'etc/modprobe.d/disable-nouveau.conf'))).toEqual(await readFile(path.join(DIB, 'disable-nouveau/modprobe.d/disable-nouveau.conf')));
      expect(await readFile(path.join(tree, 'etc/udev/rules.d/99-serial-console.rules'))).toEqual(await readFile(path.join(DIB, 'enable-serial-console/install.d/serial-console-udev.rules')));
      expect(await readFile(path.join(tree, 'etc/systemd/journald.conf.d/log-to-console.conf'), 'utf8')).toBe('[Journal]\nForwardToConsole=true\n');
    },
    LONG,
  );

  it(
    'cloud-init, cloud-init-datasources, devuser, growroot, dhcp-all-interfaces, install-static, openssh-server, runtime-ssh-host-keys, install-types, cache-url and source-repositories do what DIB does; a repository on a host out of reach is named',
    async () => {
      const { dir, env, tar, listing } = common;
      for (const f of [
        './usr/bin/cloud-init',
        // dib-init-system put the elements' units in place, and their post-install.d enabled them.
        './etc/systemd/system/multi-user.target.wants/growroot.service',
        './etc/systemd/system/multi-user.target.wants/ssh-keygen.service',
        './etc/systemd/system/multi-user.target.wants/ssh.service',
        // install-static copied growroot's and runtime-ssh-host-keys' static files.
        './usr/local/sbin/growroot',
        './usr/local/sbin/runtime-ssh-host-keys.sh',
        './usr/local/sbin/dhcp-all-interfaces.sh',
        './etc/udev/rules.d/99-dhcp-all-interfaces.rules',
      ]) {
        expect(listing, f).toContain(f);
      }
      // runtime-ssh-host-keys' cleanup.d removed the host keys openssh-server's install made.
      expect(listing.filter((f) => f.startsWith('./etc/ssh/ssh_host_'))).toEqual([]);
      const tree = await extract(tar, path.join(dir, 'cloud'), ['./etc/passwd', './etc/cloud/cloud.cfg.d/91-dib-cloud-init-datasources.cfg', './usr/local/sbin/growroot', './home/devuser/.ssh/authorized_keys']);
      expect(await readFile(path.join(tree, 'home/devuser/.ssh/authorized_keys'), 'utf8')).toBe(await readFile(env.DIB_DEV_USER_AUTHORIZED_KEYS!, 'utf8'));
      expect(await readFile(path.join(tree, 'etc/passwd'), 'utf8')).toMatch(/^devuser:x:1000:1000::\/home\/devuser:/m);
      expect(await readFile(path.join(tree, 'etc/cloud/cloud.cfg.d/91-dib-cloud-init-datasources.cfg'), 'utf8')).toBe('datasource_list: [  ConfigDrive, None ]\n');
      expect(await readFile(path.join(tree, 'usr/local/sbin/growroot'))).toEqual(await readFile(path.join(DIB, 'growroot/static/usr/local/sbin/growroot')));

      // needs-glean (a fixture) declares a git repository as simple-init declares glean's, on a host
      // that never resolves: DIB's source-repositories cannot clone it, and the build says why.
      const args = ['build', ...COMMON, 'needs-glean', '-n', 'needs-glean', '-t', 'tar', '--elements-path', `${DIB_USERS}:${DIB}`, '--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out')];
      const offline = await imgfactory(args, env);
      expect(offline.exitCode).toBe(1);
      expect(offline.stderr).toContain(
        'error: hook source-repositories/extra-data.d/98-source-repositories needs https://glean.invalid/opendev/glean/, and this build environment cannot reach glean.invalid',
      );
      expect(offline.stderr).toContain("fatal: unable to access 'https://glean.invalid/opendev/glean/': Could not resolve host: glean.invalid");
    },
    LONG,
  );
});

