// cinder-tgt's volume group, made on the node from its metadata (issue 15;
// docs/metadata.md, cinder.lvm.*): `cinder-volume-group` and `os-metadata`,
// as the elements install them, run with real LVM and os-apply-config in the
// test tools tree, made writable by an overlay in a mount namespace of the
// test's own (nothing mounted on the host, the shared tree untouched), with
// the host's /dev: the node's disks are loop devices this file attaches and
// detaches. Each volume group is named after this process, so nothing here
// can meet another group on the host. /var/lib/cinder is a bind of a plain
// directory (as on a node), not the overlay, so that a loop device's backing
// file is found by its inode.
import { execa } from 'execa';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../support/run-dir.js';
import { testToolsRoot } from '../support/test-tools.js';

const ELEMENTS = path.join(import.meta.dirname, '..', '..', 'elements');
const INSTALLED: [string, string, string][] = [
  ['cinder-tgt/static/usr/local/sbin/cinder-volume-group', 'usr/local/sbin/cinder-volume-group', '755'],
  ['os-apply-config/static/usr/local/bin/os-metadata', 'usr/local/bin/os-metadata', '755'],
  ['os-apply-config/static/usr/libexec/os-apply-config/defaults.json', 'usr/libexec/os-apply-config/defaults.json', '644'],
];

// Runs "$@" chrooted into the overlay: $1 the tools tree, $2 the node's directory.
const ON_NODE = `set -eu
tree=$1 node=$2; shift 2
m=$node/merged
mount -t overlay overlay -o "lowerdir=$tree,upperdir=$node/upper,workdir=$node/work" "$m"
mount --rbind /dev "$m/dev"; mount -t proc proc "$m/proc"; mount --rbind /sys "$m/sys"; mount -t tmpfs tmpfs "$m/run"
mkdir -p "$m/var/lib/cinder" "$m/metadata"
mount --bind "$node/cinder" "$m/var/lib/cinder"; mount --bind "$node/metadata" "$m/metadata"
exec chroot "$m" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  OS_CONFIG_FILES=/metadata/node.json LVM_SUPPRESS_FD_WARNINGS=1 "$@"
`;

let tools = '';
let node = '';
const files: string[] = [];
const VG = `cvg-${process.pid}`;

/** Runs a command on the node with `metadata` as what os-collect-config fetched. */
async function onNode(metadata: object, ...cmd: string[]) {
  await writeFile(path.join(node, 'metadata', 'node.json'), JSON.stringify(metadata));
  return execa('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', ON_NODE, 'on-node', tools, node, ...cmd], { reject: false });
}

/** A new disk of the node: a loop device on a 64 MiB file, made with `mkfs` first when given. */
async function disk(name: string, mkfs?: string): Promise<string> {
  const file = path.join(node, `${name}.img`);
  await execa('truncate', ['--size', '64M', file]);
  if (mkfs) await execa(mkfs, ['-q', file]);
  files.push(file);
  return (await execa('losetup', ['--find', '--show', file])).stdout.trim();
}

/** The loop devices `file` is attached to. */
async function loopsOf(file: string): Promise<string[]> {
  return (await execa('losetup', ['--associated', file, '--noheadings', '--output', 'NAME'])).stdout.split('\n').filter(Boolean);
}

/** The group's sequence number (it grows with every change LVM makes) and its volumes, or null when LVM does not see it. */
async function group(vg: string): Promise<{ seqno: number; pvs: string[] } | null> {
  const r = await onNode({}, 'vgs', '--noheadings', '--options', 'vg_seqno,pv_name', vg);
  if (r.exitCode !== 0) return null;
  const rows = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
  return { seqno: Number(rows[0]![0]), pvs: rows.map((row) => row[1]!).sort() };
}

beforeAll(async () => {
  tools = await testToolsRoot();
  node = await scratchDir('cinder-node');
  for (const d of ['upper', 'work', 'merged', 'cinder', 'metadata']) await mkdir(path.join(node, d));
  for (const [from, to, mode] of INSTALLED) {
    await mkdir(path.dirname(path.join(node, 'upper', to)), { recursive: true });
    await execa('install', ['-m', mode, path.join(ELEMENTS, from), path.join(node, 'upper', to)]);
  }
});

afterAll(async () => {
  const backing = [...files, path.join(node, 'cinder', 'volume-groups', `${VG}-loop.img`)];
  for (const file of backing) for (const loop of await loopsOf(file).catch(() => [])) await execa('losetup', ['--detach', loop]);
});

describe('cinder-volume-group ensure, on the devices the metadata lists', () => {
  it('makes the group there, and run again with the same metadata changes nothing', async () => {
    const a = await disk('a');
    const meta = { cinder: { volume_group: VG, lvm: { devices: [a] } } };
    const made = await onNode(meta, 'cinder-volume-group', 'ensure');
    expect(made.exitCode, made.stderr).toBe(0);
    expect(made.stdout).toContain(`volume group ${VG} on ${a}`);
    const first = await group(VG);
    expect(first?.pvs).toEqual([a]);
    const again = await onNode(meta, 'cinder-volume-group', 'ensure');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toBe('');
    expect(await group(VG)).toEqual(first);
  });

  it('refuses a device that holds anything, naming it and what it holds, before changing any; adds a clean one', async () => {
    const before = await group(VG);
    const [a] = before!.pvs;
    const b = await disk('b');
    const withFs = await disk('c', 'mkfs.ext4');
    const refused = await onNode({ cinder: { volume_group: VG, lvm: { devices: [a, b, withFs] } } }, 'cinder-volume-group', 'ensure');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`cinder-volume-group: cinder.lvm.devices: ${withFs} holds ext4: not wiped (wipefs -a ${withFs} gives it to cinder)`);
    expect(await group(VG)).toEqual(before);
    expect((await execa('blkid', ['--probe', '--output', 'value', '--match-tag', 'TYPE', withFs])).stdout).toBe('ext4');

    const other = await disk('d');
    expect((await onNode({}, 'vgcreate', `${VG}-other`, other)).exitCode).toBe(0);
    const taken = await onNode({ cinder: { volume_group: VG, lvm: { devices: [b, other] } } }, 'cinder-volume-group', 'ensure');
    expect(taken.exitCode).toBe(1);
    expect(taken.stderr).toContain(`cinder.lvm.devices: ${other} belongs to volume group ${VG}-other, not ${VG}: not taken`);
    expect(await group(VG)).toEqual(before);

    const added = await onNode({ cinder: { volume_group: VG, lvm: { devices: [a, b] } } }, 'cinder-volume-group', 'ensure');
    expect(added.exitCode, added.stderr).toBe(0);
    expect((await group(VG))?.pvs).toEqual([a, b].sort());
  });

  it('is checked by os-metadata: devices must be a list of /dev paths, the loop size a whole number of MiB', async () => {
    const bad = await onNode({ cinder: { lvm: { devices: '/dev/vdb', loop_size_mb: '10G' } } }, 'os-metadata', 'check');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('os-metadata: cinder.lvm.devices must be a list of block devices (/dev/...), not "/dev/vdb"; see docs/metadata.md');
    expect(bad.stderr).toContain('os-metadata: cinder.lvm.loop_size_mb must be a whole number of MiB (0: no loop device), not "10G"; see docs/metadata.md');
  });
});

describe('cinder-volume-group, with no device listed', () => {
  const vg = `${VG}-loop`;
  const file = () => path.join(node, 'cinder', 'volume-groups', `${vg}.img`);

  it('makes the group on a sparse file on a loop device; run again, nothing changes and no second loop device is taken', async () => {
    const meta = { cinder: { volume_group: vg, lvm: { loop_size_mb: 64 } } };
    const made = await onNode(meta, 'cinder-volume-group', 'ensure');
    expect(made.exitCode, made.stderr).toBe(0);
    const st = await stat(file());
    expect(st.size).toBe(64 * 2 ** 20);
    expect(st.blocks * 512).toBeLessThan(st.size / 4);
    const [loop] = await loopsOf(file());
    expect(await group(vg)).toEqual({ seqno: 1, pvs: [loop] });
    expect((await onNode(meta, 'cinder-volume-group', 'ensure')).exitCode).toBe(0);
    expect(await loopsOf(file())).toEqual([loop]);
    expect(await group(vg)).toEqual({ seqno: 1, pvs: [loop] });
  });

  it('is put back on a loop device after a reboot, by the boot unit or by the next ensure, never made again', async () => {
    for (const loop of await loopsOf(file())) await execa('losetup', ['--detach', loop]);
    expect(await group(vg)).toBeNull();
    const attached = await onNode({}, 'cinder-volume-group', 'attach');
    expect(attached.exitCode, attached.stderr).toBe(0);
    expect(await loopsOf(file())).toHaveLength(1);
    expect((await group(vg))?.seqno).toBe(1);

    for (const loop of await loopsOf(file())) await execa('losetup', ['--detach', loop]);
    const ensured = await onNode({ cinder: { volume_group: vg, lvm: { loop_size_mb: 64 } } }, 'cinder-volume-group', 'ensure');
    expect(ensured.exitCode, ensured.stderr).toBe(0);
    expect(await loopsOf(file())).toHaveLength(1);
    expect((await group(vg))?.seqno).toBe(1);
  });

  it('makes nothing when the loop size is 0, and says that cinder-volume has no storage', async () => {
    const none = await onNode({ cinder: { volume_group: `${VG}-none`, lvm: { loop_size_mb: 0 } } }, 'cinder-volume-group', 'ensure');
    expect(none.exitCode, none.stderr).toBe(0);
    expect(none.stderr).toContain(`no cinder.lvm.devices and cinder.lvm.loop_size_mb is 0: no volume group ${VG}-none; cinder-volume has no storage`);
    expect(await group(`${VG}-none`)).toBeNull();
  });
});
