import { describe, expect, it } from 'vitest';
import { BOOT, patchBootSector, patchCoreImage } from '../../../src/image/grub-bios.js';

function fakeBootImg(): Buffer {
  const b = Buffer.alloc(512, 0xcc);
  b.writeBigUInt64LE(1n, BOOT.KERNEL_SECTOR);
  b[BOOT.DRIVE_CHECK] = 0xeb;
  b[BOOT.DRIVE_CHECK + 1] = 0x05;
  return b;
}

describe('boot sector patching', () => {
  it('keeps the BPB area, disk id and partition table of the existing MBR', () => {
    const existing = Buffer.alloc(512, 0);
    existing.fill(0x11, BOOT.BPB_START, BOOT.BPB_END);
    existing.fill(0x22, BOOT.WINDOWS_NT_MAGIC, 510);
    const out = patchBootSector(fakeBootImg(), existing, 2048);
    expect(out.subarray(0, 3)).toEqual(Buffer.alloc(3, 0xcc));
    expect(out.subarray(BOOT.BPB_START, BOOT.BPB_END)).toEqual(Buffer.alloc(BOOT.BPB_END - BOOT.BPB_START, 0x11));
    expect(out.subarray(BOOT.WINDOWS_NT_MAGIC, 510)).toEqual(Buffer.alloc(510 - BOOT.WINDOWS_NT_MAGIC, 0x22));
    expect(out.readBigUInt64LE(BOOT.KERNEL_SECTOR)).toBe(2048n);
    expect([out[BOOT.DRIVE_CHECK], out[BOOT.DRIVE_CHECK + 1]]).toEqual([0x90, 0x90]);
    expect(out[BOOT.BOOT_DRIVE]).toBe(0xff);
    expect([out[510], out[511]]).toEqual([0x55, 0xaa]);
  });

  it('refuses a boot.img of the wrong size', () => {
    expect(() => patchBootSector(Buffer.alloc(100), Buffer.alloc(512), 1)).toThrow(/512 bytes/);
  });
});

describe('core.img patching', () => {
  function fakeCore(sectors: number, len: number): Buffer {
    const c = Buffer.alloc(sectors * 512 - 100, 0xab);
    c.writeBigUInt64LE(2n, 500);
    c.writeUInt16LE(len, 508);
    c.writeUInt16LE(0x820, 510);
    return c;
  }

  it('pads to sectors and points the blocklist after the first sector', () => {
    const out = patchCoreImage(fakeCore(10, 9), 411648);
    expect(out.length).toBe(10 * 512);
    expect(out.readBigUInt64LE(500)).toBe(411649n);
    expect(out.readUInt16LE(508)).toBe(9);
    expect(out.readUInt16LE(510)).toBe(0x820);
  });

  it('notices a blocklist length that does not match the image', () => {
    expect(() => patchCoreImage(fakeCore(10, 4), 1)).toThrow(/blocklist says 4 sectors/);
  });
});
