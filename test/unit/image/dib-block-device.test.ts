import { describe, expect, it } from 'vitest';
import { loadLayout, parseLayoutText } from '../../../src/image/layout-load.js';
import { bootTargets } from '../../../src/image/layout.js';

const DIB = '/usr/lib/python3/dist-packages/diskimage_builder/elements';

/** The bad-layout message of `text`, read as DIB_BLOCK_DEVICE_CONFIG. */
function refusal(text: string): string {
  const r = parseLayoutText(text, 'DIB_BLOCK_DEVICE_CONFIG');
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.value)}`);
  expect(r.error).toMatchObject({ reason: 'bad-layout', file: 'DIB_BLOCK_DEVICE_CONFIG' });
  return (r.error as { message: string }).message;
}

describe("diskimage-builder's block-device config as a layout", () => {
  it("reads block-device-mbr's, -gpt's and -efi's own block-device-default.yaml with DIB's defaults", async () => {
    const mbr = await loadLayout(`${DIB}/block-device-mbr/block-device-default.yaml`);
    if (!mbr.ok) throw new Error(JSON.stringify(mbr.error));
    expect(mbr.value).toMatchObject({
      table: 'mbr',
      // size 100% is the rest of the disk; mkfs_root gets DIB's root type and label; `primary` is what every mbr partition here is.
      partitions: [{ name: 'root', type: 'linux', size: { kind: 'rest' }, flags: ['boot'], filesystem: 'ext4', label: 'cloudimg-rootfs', mountpoint: '/', fstabOptions: 'defaults' }],
    });
    expect(bootTargets(mbr.value)).toEqual({ bios: true, efi: false });

    const gpt = await loadLayout(`${DIB}/block-device-gpt/block-device-default.yaml`);
    if (!gpt.ok) throw new Error(JSON.stringify(gpt.error));
    expect(gpt.value.table).toBe('gpt');
    expect(gpt.value.partitions.map((p) => [p.name, p.type, p.flags])).toEqual([
      ['BSP', 'bios-boot', []],
      ['root', 'linux', ['legacy_boot']],
    ]);
    expect(gpt.value.partitions[0]!.size).toEqual({ kind: 'bytes', bytes: 8 * 1024 * 1024 });

    const efi = await loadLayout(`${DIB}/block-device-efi/block-device-default.yaml`);
    if (!efi.ok) throw new Error(JSON.stringify(efi.error));
    expect(efi.value.partitions.map((p) => [p.name, p.type, p.filesystem, p.label, p.mountpoint])).toEqual([
      // A filesystem without a label is labelled with its node's name, upper case on vfat, as DIB's mkfs does.
      ['ESP', 'efi', 'vfat', 'MKFS_ESP', '/boot/efi'],
      ['BSP', 'bios-boot', undefined, undefined, undefined],
      ['root', 'linux', 'ext4', 'cloudimg-rootfs', '/'],
    ]);
    expect(bootTargets(efi.value)).toEqual({ bios: true, efi: true });
  });

  it('reads the graph form (nodes joined by base) as the tree form', () => {
    const graph = `
- local_loop: {name: image0}
- partitioning:
    base: image0
    label: mbr
    partitions:
      - {name: root, flags: [boot], size: 100%}
- mkfs: {name: mkfs_root, base: root, type: ext4, label: myroot}
- mount: {name: mount_root, base: mkfs_root, mount_point: /}
- fstab: {base: mount_root, options: noatime, fsck-passno: 1}
`;
    const r = parseLayoutText(graph, 'cfg');
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.value.partitions).toEqual([
      { name: 'root', type: 'linux', size: { kind: 'rest' }, flags: ['boot'], filesystem: 'ext4', label: 'myroot', mountpoint: '/', fstabOptions: 'noatime' },
    ]);
  });

  it('refuses what the loop-free assembler cannot make, naming the entry and the key', async () => {
    const lvm = await loadLayout(`${DIB}/block-device-efi-lvm/block-device-default.yaml`);
    expect(lvm.ok).toBe(false);
    if (!lvm.ok) {
      expect(lvm.error).toMatchObject({ reason: 'bad-layout', file: `${DIB}/block-device-efi-lvm/block-device-default.yaml` });
      expect((lvm.error as { message: string }).message).toMatch(/^diskimage-builder block-device config: entry 3 \(lvm \S+\): `lvm`: LVM volumes are not supported/);
    }
    expect(refusal('- local_loop:\n    name: image0\n    mkfs:\n      name: mkfs_root\n      mount: {mount_point: /}\n')).toContain(
      'no `partitioning`: a filesystem on the whole disk, without a partition table, is not supported',
    );
    expect(refusal('- local_loop: {name: image0}\n- mdraid: {name: md0}\n')).toContain('entry 2: `mdraid` is not a diskimage-builder block-device plugin');
    const base = '- local_loop: {name: image0}\n- partitioning:\n    base: image0\n    label: gpt\n    partitions:\n';
    expect(refusal(`${base}      - name: root\n        size: 100%\n        mkfs: {type: ext4, opts: "-i 4096", mount: {mount_point: /}}\n`)).toMatch(
      /entry 2 \(partitioning partitioning_image0\), partition 1 \(mkfs mkfs_root\): `mkfs` key\(s\) opts not supported .*imgfactory makes filesystems itself/,
    );
    expect(refusal(`${base}      - name: root\n        size: 100%\n        type: '8E00'\n`)).toContain('partition 1 (root): type "8E00" not supported');
    expect(refusal(`${base}      - name: root\n        flags: [primary]\n        size: 100%\n`)).toContain('flag "primary" not supported on gpt');
    expect(refusal('- local_loop: {name: image0, size: 4GiB}\n')).toContain('`local_loop` key(s) size not supported (imgfactory reads name, base, directory); give the disk size with --image-size');
    // What imgfactory's own checks refuse is named too, with DIB's partition name.
    const r = parseLayoutText(`${base}      - name: root\n        size: 100%\n        mkfs: {type: xfs, mount: {mount_point: /}}\n`, 'cfg');
    expect(r.ok ? null : r.error).toMatchObject({ reason: 'bad-layout', partition: 'root', message: expect.stringContaining("filesystem 'xfs' is unsupported") });
  });
});
