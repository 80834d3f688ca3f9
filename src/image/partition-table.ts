// Writes the partition table (MBR or GPT) into an image file with sfdisk, from
// a DiskPlan. No loop device,
// no kernel re-read: sfdisk works on the plain file.
import { ok, type Result } from '../failure.js';
import { SECTOR, type Layout, type PartitionType } from './layout.js';
import type { DiskPlan } from './partition-plan.js';
import { run, type LogFn } from '../process/run.js';
import type { ImageIds } from './seed.js';

/** GPT partition type GUIDs (UEFI spec; freedesktop discoverable partitions for Linux data/swap). */
export const GPT_TYPES: Record<PartitionType, string> = {
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  efi: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  'bios-boot': '21686148-6449-6E6F-744E-656564454649',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
};

/** MBR partition type bytes. bios-boot has none (GRUB embeds after the MBR instead). */
export const MBR_TYPES: Record<Exclude<PartitionType, 'bios-boot'>, string> = {
  linux: '83',
  efi: 'ef',
  swap: '82',
};

/** The sfdisk script for a plan; deterministic given the ids. */
export function sfdiskScript(layout: Layout, plan: DiskPlan, ids: ImageIds): string {
  const lines: string[] = [];
  if (layout.table === 'gpt') {
    lines.push('label: gpt', `label-id: ${ids.diskGuid.toUpperCase()}`);
  } else {
    lines.push('label: dos', `label-id: 0x${ids.mbrId}`);
  }
  lines.push('unit: sectors', 'sector-size: 512', '');
  for (const p of plan.partitions) {
    const fields = [`start=${p.start / SECTOR}`, `size=${p.size / SECTOR}`];
    if (layout.table === 'gpt') {
      fields.push(`type=${GPT_TYPES[p.spec.type]}`, `uuid=${ids.partitionGuid(p.spec.name).toUpperCase()}`, `name="${p.spec.name}"`);
      if (p.spec.flags.includes('legacy_boot')) fields.push('attrs="LegacyBIOSBootable"');
    } else {
      if (p.spec.type === 'bios-boot') throw new Error('bios-boot on mbr (validation was skipped)');
      fields.push(`type=${MBR_TYPES[p.spec.type]}`);
      if (p.spec.flags.includes('boot')) fields.push('bootable');
    }
    lines.push(fields.join(', '));
  }
  return lines.join('\n') + '\n';
}

/** Writes the table into `image` (which must already have the plan's size). */
export async function writePartitionTable(image: string, layout: Layout, plan: DiskPlan, ids: ImageIds, onLog?: LogFn): Promise<Result<void>> {
  const script = sfdiskScript(layout, plan, ids);
  onLog?.(`sfdisk script:\n${script}`);
  const r = await run('sfdisk', ['--no-reread', '--no-tell-kernel', '--wipe', 'never', '--quiet', image], { input: script, onLog });
  return r.ok ? ok(undefined) : r;
}

