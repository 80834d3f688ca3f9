// Where GRUB's images and modules come from: the root tree's own GRUB packages
// (grub-pc-bin for i386-pc, grub-efi-amd64-bin for x86_64-efi), never the
// host's, so the boot loader matches what the image's element installed. The
// host only lends its grub-mkimage (grub-common), which reads them with -d.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';

export type GrubPlatform = 'i386-pc' | 'x86_64-efi';

const PACKAGE: Record<GrubPlatform, string> = { 'i386-pc': 'grub-pc-bin', 'x86_64-efi': 'grub-efi-amd64-bin' };

/** Modules built into the image; grub-mkimage adds their dependencies from moddep.lst. */
export const MODULES: Record<GrubPlatform, string[]> = {
  'i386-pc': [
    'biosdisk', 'part_msdos', 'part_gpt', 'ext2', 'search', 'search_fs_uuid', 'search_label',
    'normal', 'linux', 'configfile', 'echo', 'test', 'gzio', 'serial', 'terminal', 'boot', 'ls', 'cat', 'halt', 'reboot',
  ],
  'x86_64-efi': [
    'part_gpt', 'part_msdos', 'fat', 'ext2', 'search', 'search_fs_uuid', 'search_label', 'normal', 'linux',
    'configfile', 'echo', 'test', 'gzio', 'serial', 'terminal', 'efi_gop', 'efi_uga', 'all_video', 'boot', 'ls', 'cat', 'halt', 'reboot',
  ],
};

/** The tree's module directory for a platform, or 'tree-missing' naming the package to install. */
export async function grubDir(rootDir: string, platform: GrubPlatform): Promise<Result<string>> {
  const dir = path.join(rootDir, 'usr/lib/grub', platform);
  const needed = platform === 'i386-pc' ? ['moddep.lst', 'boot.img', 'kernel.img'] : ['moddep.lst', 'kernel.img'];
  for (const f of needed) {
    try {
      await access(path.join(dir, f));
    } catch {
      return fail({
        reason: 'tree-missing',
        what: `${path.join('/usr/lib/grub', platform, f)} in the root tree`,
        hint: `install ${PACKAGE[platform]} in the image (the vm element does), or use a layout without ${platform === 'i386-pc' ? 'BIOS boot' : 'an ESP'}`,
      });
    }
  }
  return ok(dir);
}
