// GRUB for UEFI: grub-mkimage builds a standalone x86_64 EFI application from
// the tree's x86_64-efi modules with the early config embedded; it goes onto
// the ESP as the removable-media path EFI/BOOT/BOOTX64.EFI, which firmware
// boots without any NVRAM entry. Not signed: a layout with `secureBoot`
// boots Debian's signed shim and GRUB instead (secure-boot-esp.ts).
import { ok, type Result } from '../failure.js';
import { MODULES } from './grub-modules.js';
import { run, type LogFn } from '../process/run.js';

/** Where firmware looks on removable media (UEFI spec 3.5.1.1) for x86_64. */
export const EFI_BOOT_PATH = 'EFI/BOOT/BOOTX64.EFI';

export async function makeEfiImage(moduleDir: string, earlyCfg: string, out: string, onLog?: LogFn): Promise<Result<string>> {
  const r = await run(
    'grub-mkimage',
    ['-O', 'x86_64-efi', '-d', moduleDir, '-c', earlyCfg, '-p', '/boot/grub', '-o', out, ...MODULES['x86_64-efi']],
    { onLog },
  );
  return r.ok ? ok(out) : r;
}
