// GRUB for BIOS without loop devices or grub-bios-setup: grub-mkimage builds
// core.img from the tree's i386-pc modules, and we write it into the image
// file ourselves, doing what grub-bios-setup does for an embedded core:
//
//   sector 0            boot.img (code only: 0..0x1b8), BPB bytes 3..0x5a and
//                       the disk id + partition table (0x1b8..0x200) are kept;
//                       KERNEL_SECTOR (0x5c, u64) = first sector of core.img;
//                       DRIVE_CHECK (0x66) jump -> NOP NOP (hard disk, as
//                       grub-bios-setup does for non-floppies).
//   sector S            core.img: its first sector (diskboot.img) ends with a
//                       blocklist {start u64, len u16, segment u16}; start =
//                       S + 1 (grub-mkimage already set len).
//   S = 1 (mbr: the gap before the first partition at 1 MiB) or the first
//   sector of the bios-boot partition (gpt).
//
// No Reed-Solomon codes are added (grub-bios-setup's --no-rs-codes): the
// redundancy field stays 0 and GRUB's startup skips recovery.
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { SECTOR } from './layout.js';
import { MODULES } from './grub-modules.js';
import { run, type LogFn } from '../process/run.js';

/** Offsets in boot.img (grub-core/include/grub/i386/pc/boot.h). */
export const BOOT = {
  BPB_START: 0x3,
  BPB_END: 0x5a,
  KERNEL_SECTOR: 0x5c,
  BOOT_DRIVE: 0x64,
  DRIVE_CHECK: 0x66,
  /** Where the disk id and the partition table begin; boot.img stops here. */
  WINDOWS_NT_MAGIC: 0x1b8,
} as const;

/** Size of the blocklist entry at the end of diskboot.img: start u64, len u16, segment u16. */
const BLOCKLIST_SIZE = 12;

/** Builds core.img from the tree's module dir with an embedded early config. */
export async function makeCoreImage(moduleDir: string, earlyCfg: string, out: string, onLog?: LogFn): Promise<Result<string>> {
  const r = await run(
    'grub-mkimage',
    ['-O', 'i386-pc', '-d', moduleDir, '-c', earlyCfg, '-p', '/boot/grub', '-o', out, ...MODULES['i386-pc']],
    { onLog },
  );
  return r.ok ? ok(out) : r;
}

/** Sector 0 with boot.img's code over `existing`, pointing at core.img in `coreSector`. */
export function patchBootSector(bootImg: Buffer, existing: Buffer, coreSector: number): Buffer {
  if (bootImg.length !== SECTOR) throw new Error(`boot.img must be ${SECTOR} bytes, got ${bootImg.length}`);
  const out = Buffer.from(existing.subarray(0, SECTOR));
  bootImg.copy(out, 0, 0, BOOT.BPB_START);
  bootImg.copy(out, BOOT.BPB_END, BOOT.BPB_END, BOOT.WINDOWS_NT_MAGIC);
  out.writeBigUInt64LE(BigInt(coreSector), BOOT.KERNEL_SECTOR);
  out[BOOT.BOOT_DRIVE] = 0xff;
  out[BOOT.DRIVE_CHECK] = 0x90;
  out[BOOT.DRIVE_CHECK + 1] = 0x90;
  out[510] = 0x55;
  out[511] = 0xaa;
  return out;
}

/** core.img padded to whole sectors, its blocklist pointing at the sectors after `coreSector`. */
export function patchCoreImage(core: Buffer, coreSector: number): Buffer {
  const sectors = Math.ceil(core.length / SECTOR);
  const out = Buffer.alloc(sectors * SECTOR);
  core.copy(out);
  const at = SECTOR - BLOCKLIST_SIZE;
  const len = out.readUInt16LE(at + 8);
  if (len !== sectors - 1) throw new Error(`core.img blocklist says ${len} sectors, the image has ${sectors - 1} after diskboot`);
  out.writeBigUInt64LE(BigInt(coreSector + 1), at);
  return out;
}

export interface BiosInstall {
  image: string;
  bootImg: string;
  coreImg: string;
  /** First sector of the area for core.img. */
  coreSector: number;
  /** How many sectors that area has. */
  areaSectors: number;
}

/** Writes boot.img into sector 0 and core.img at `coreSector` of the image file. */
export async function installBiosBoot(o: BiosInstall, onLog?: LogFn): Promise<Result<{ coreSectors: number }>> {
  const core = patchCoreImage(await readFile(o.coreImg), o.coreSector);
  const coreSectors = core.length / SECTOR;
  if (coreSectors > o.areaSectors) {
    return fail({
      reason: 'image-too-small',
      what: `GRUB core.img (${path.basename(o.coreImg)}) in the ${o.areaSectors}-sector embedding area at sector ${o.coreSector}`,
      needed: core.length,
      available: o.areaSectors * SECTOR,
    });
  }
  onLog?.(`grub-bios: boot.img -> sector 0, core.img (${coreSectors} sectors) -> sector ${o.coreSector}`);
  const fh = await open(o.image, 'r+');
  try {
    const mbr = Buffer.alloc(SECTOR);
    await fh.read(mbr, 0, SECTOR, 0);
    await fh.write(patchBootSector(await readFile(o.bootImg), mbr, o.coreSector), 0, SECTOR, 0);
    await fh.write(core, 0, core.length, o.coreSector * SECTOR);
  } finally {
    await fh.close();
  }
  return ok({ coreSectors });
}
