// Where GRUB's images and modules come from: the root tree's own GRUB packages
// (grub-pc-bin for i386-pc, grub-efi-amd64-bin for x86_64-efi), never the
// host's, so the boot loader matches what the image's element installed. The
// host only lends its grub-mkimage (grub-common), which reads them with -d.
import { fail, ok, type Result } from '../failure.js';
import { dirInTree, fileInTree } from '../util/tree-path.js';

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

/** The tree's module directory for a platform (found through the tree's own links: util/tree-path.ts), or 'tree-missing' naming the package to install. */
export async function grubDir(rootDir: string, platform: GrubPlatform): Promise<Result<string>> {
  const inside = `/usr/lib/grub/${platform}`;
  const missing = (what: string): Result<string> =>
    fail({
      reason: 'tree-missing',
      what: `${what} in the root tree`,
      hint: `install ${PACKAGE[platform]} in the image (the vm element does), or use a layout without ${platform === 'i386-pc' ? 'BIOS boot' : 'an ESP'}`,
    });
  const dir = await dirInTree(rootDir, inside);
  if (dir === null) return missing(inside);
  const needed = platform === 'i386-pc' ? ['moddep.lst', 'boot.img', 'kernel.img'] : ['moddep.lst', 'kernel.img'];
  for (const f of needed) if ((await fileInTree(rootDir, `${inside}/${f}`)) === null) return missing(`${inside}/${f}`);
  return ok(dir);
}
