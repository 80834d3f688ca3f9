import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../../src/image/layout-parse.js';
import type { Failure } from '../../../src/failure.js';

const root = { name: 'root', type: 'linux', size: 'rest', filesystem: 'ext4', label: 'cloudimg-rootfs', mountpoint: '/' };

function error(doc: unknown): Extract<Failure, { reason: 'bad-layout' }> {
  const r = parseLayout(doc, 'test.yaml');
  if (r.ok) throw new Error(`expected a bad-layout failure, got ${JSON.stringify(r.value)}`);
  if (r.error.reason !== 'bad-layout') throw new Error(`expected bad-layout, got ${r.error.reason}`);
  return r.error;
}

describe('parseLayout', () => {
  it('accepts a minimal mbr layout', () => {
    const r = parseLayout({ table: 'mbr', partitions: [{ ...root, flags: ['boot'] }] }, 'x');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.partitions[0]).toMatchObject({ name: 'root', size: { kind: 'rest' }, flags: ['boot'], mountpoint: '/' });
  });

  it('names the file and the partition in errors', () => {
    const e = error({ table: 'gpt', partitions: [{ ...root, filesystem: 'btrfs' }] });
    expect(e.file).toBe('test.yaml');
    expect(e.partition).toBe('root');
    expect(e.message).toMatch(/unknown filesystem "btrfs"/);
  });

  it('refuses xfs with a clear unsupported message', () => {
    expect(error({ table: 'gpt', partitions: [{ ...root, filesystem: 'xfs' }] }).message).toMatch(/xfs' is unsupported/);
  });

  it.each([
    [{ table: 'lvm', partitions: [root] }, /table must be one of mbr, gpt/],
    [{ table: 'gpt' }, /partitions must be a non-empty list/],
    [{ table: 'gpt', partitions: [root], extra: 1 }, /unknown key\(s\) extra/],
    [{ table: 'gpt', partitions: [{ ...root, type: 'zfs' }] }, /unknown type "zfs"/],
    [{ table: 'gpt', partitions: [{ ...root, size: '12 parsecs' }] }, /unknown size unit 'parsecs'/],
    [{ table: 'gpt', partitions: [{ ...root, size: '0%' }] }, /percentage must be in/],
    [{ table: 'gpt', partitions: [{ ...root, size: '100KiB' }] }, /at least 1MiB/],
    [{ table: 'gpt', partitions: [{ ...root, flags: ['boot'] }] }, /'boot' exists only in an mbr table/],
    [{ table: 'mbr', partitions: [{ ...root, flags: ['legacy_boot'] }] }, /'legacy_boot' exists only in a gpt table/],
    [{ table: 'mbr', partitions: [{ name: 'bsp', type: 'bios-boot', size: '1MiB' }, root] }, /bios-boot partition exists only in a gpt/],
    [{ table: 'gpt', partitions: [{ name: 'esp', type: 'efi', size: '100MiB', filesystem: 'ext4' }, root] }, /needs filesystem: vfat/],
    [{ table: 'gpt', partitions: [{ ...root, filesystem: 'vfat', label: 'ROOT' }] }, /root filesystem must be ext4/],
    [{ table: 'gpt', partitions: [{ ...root, label: 'a-label-that-is-too-long' }] }, /longer than 16 bytes/],
    [{ table: 'gpt', partitions: [{ ...root, mountpoint: 'relative' }] }, /absolute path/],
    [{ table: 'gpt', partitions: [{ ...root, mountpoint: undefined }] }, /no partition has mountpoint \//],
    [{ table: 'gpt', partitions: [{ name: 'data', type: 'linux', size: '1GiB', filesystem: 'ext4', mountpoint: '/srv' }, root] }, /separate filesystem for \/srv is not supported/],
  ])('rejects %j', (doc, message) => {
    expect(error(doc).message).toMatch(message);
  });

  it('rejects two roots, naming the second', () => {
    const e = error({ table: 'gpt', partitions: [{ ...root, size: '2GiB' }, { ...root, name: 'root2', label: 'other' }] });
    expect(e.message).toMatch(/two root partitions: root and root2/);
    expect(e.partition).toBe('root2');
  });

  it('rejects duplicate names, labels and two rest partitions', () => {
    expect(error({ table: 'gpt', partitions: [root, { name: 'root', type: 'swap', size: '1GiB' }] }).message).toMatch(/two partitions are named 'root'/);
    expect(error({ table: 'gpt', partitions: [{ name: 'sw', type: 'swap', size: 'rest' }, root] }).message).toMatch(/only one partition may have size: rest/);
    expect(
      error({ table: 'gpt', partitions: [{ name: 'esp', type: 'efi', size: '100MiB', filesystem: 'vfat', label: 'CLOUDIMG-ROOTFS'.slice(0, 11) }, { ...root, label: 'cloudimg-ro' }] }).message,
    ).toMatch(/label 'cloudimg-ro' is used by 'esp' and 'root'/);
  });

  it('rejects percentages over 100 and more than 4 mbr partitions', () => {
    expect(error({ table: 'gpt', partitions: [{ name: 'sw', type: 'swap', size: '60%' }, { ...root, size: '50%' }] }).message).toMatch(/add up to 110%/);
    const five = Array.from({ length: 4 }, (_, i) => ({ name: `s${i}`, type: 'swap', size: '1MiB' }));
    expect(error({ table: 'mbr', partitions: [...five, root] }).message).toMatch(/at most 4 primary/);
  });

  it('rejects overlapping explicit starts', () => {
    const e = error({ table: 'gpt', partitions: [{ name: 'sw', type: 'swap', size: '100MiB' }, { ...root, start: '50MiB' }] });
    expect(e.partition).toBe('root');
    expect(e.message).toMatch(/overlap/);
  });

  it('rejects unaligned starts', () => {
    expect(error({ table: 'gpt', partitions: [{ ...root, start: '1536KiB' }] }).message).toMatch(/multiple of 1MiB/);
  });
});
