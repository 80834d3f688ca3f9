// GRUB_CMDLINE_LINUX as the tree's /etc/default/grub and grub.d/*.cfg leave
// it (src/image/grub-defaults.ts): Debian's stock file with diskimage-
// builder's bootloader lines appended adds nothing; site elements' plain
// assignments and appends are read in grub-mkconfig's order; what only
// running the file could tell is refused, naming the file and the line.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { treeKernelArgs } from '../../../src/image/grub-defaults.js';
import { scratchDir } from '../../support/run-dir.js';

/** grub2-common 2.06-13+deb12u2's /usr/share/grub/default/grub (installed as /etc/default/grub), comments shortened. */
const DEBIAN_STOCK = `# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=\`lsb_release -i -s 2> /dev/null || echo Debian\`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX=""

GRUB_DISABLE_OS_PROBER=true
#GRUB_BADRAM="0x01234567,0xfefefefe,0x89abcdef,0xefefefef"
#GRUB_DISABLE_LINUX_UUID=true
`;

/** What diskimage-builder's bootloader element (finalise.d/50-bootloader) appends. */
const DIB_APPENDED = `GRUB_DEVICE=LABEL=cloudimg-rootfs
GRUB_DISABLE_LINUX_UUID=true
GRUB_TIMEOUT=5
GRUB_TERMINAL="serial console"
GRUB_GFXPAYLOAD_LINUX=auto
GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200 no_timer_check nofb nomodeset gfxpayload=text"
GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"
`;

async function treeWith(files: Record<string, string>): Promise<string> {
  const root = await scratchDir('grub-defaults');
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
  return root;
}

describe('treeKernelArgs', () => {
  it("adds nothing for a tree without GRUB defaults, or with Debian's and diskimage-builder's", async () => {
    expect(await treeKernelArgs(await treeWith({}))).toEqual({ ok: true, value: '' });
    expect(await treeKernelArgs(await treeWith({ 'etc/default/grub': DEBIAN_STOCK + DIB_APPENDED }))).toEqual({ ok: true, value: '' });
  });

  it("reads plain assignments and appends in grub-mkconfig's order: /etc/default/grub, then grub.d/*.cfg by name", async () => {
    const root = await treeWith({
      'etc/default/grub': `${DEBIAN_STOCK.replace('GRUB_CMDLINE_LINUX=""', 'GRUB_CMDLINE_LINUX="net.ifnames=0"')}${DIB_APPENDED}`,
      'etc/default/grub.d/20-b.cfg': 'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} x=\\"y z\\"" # quoted, with a comment\n',
      'etc/default/grub.d/10-a.cfg': "export GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX\"' a=$1'\nGRUB_CMDLINE_LINUX=$GRUB_CMDLINE_LINUX\\ b=2;\n",
      'etc/default/grub.d/30-c.cfg.disabled': 'GRUB_CMDLINE_LINUX="never"\n',
      'etc/default/grub.d/40-other.cfg': 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT ignored"\n',
    });
    expect(await treeKernelArgs(root)).toEqual({ ok: true, value: 'net.ifnames=0 a=$1 b=2 x="y z"' });
  });

  it("reads the tree's files through the tree's links, absolute ones too (never the host's files)", async () => {
    const root = await treeWith({
      'etc/default/grub.site': 'GRUB_CMDLINE_LINUX="from-the-tree"\n',
      'etc/grub-site.d/10-a.cfg': 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX and-its-dir"\n',
    });
    await symlink('/etc/default/grub.site', path.join(root, 'etc/default/grub'));
    await symlink('/etc/grub-site.d', path.join(root, 'etc/default/grub.d'));
    expect(await treeKernelArgs(root)).toEqual({ ok: true, value: 'from-the-tree and-its-dir' });
  });

  it.each([
    ['a command substitution', 'GRUB_CMDLINE_LINUX="$(cat /proc/cmdline)"', 1, 'it expands something other than $GRUB_CMDLINE_LINUX'],
    ['backticks', 'GRUB_CMDLINE_LINUX=`cat /x`', 1, 'it runs a command'],
    ['another variable', 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX $EXTRA"', 1, 'it expands something other than $GRUB_CMDLINE_LINUX'],
    ['an unclosed quote', 'GRUB_CMDLINE_LINUX="a\n b"', 1, 'a quote is not closed on this line'],
    ["bash's +=", "GRUB_CMDLINE_LINUX+=' a'", 1, 'grub-mkconfig reads these files with /bin/sh'],
    ['a command after the value', 'GRUB_CMDLINE_LINUX=a true', 1, 'something follows the value'],
    ['a condition on one line', '[ -e /x ] && GRUB_CMDLINE_LINUX=a', 1, 'it is not a plain assignment'],
    ['a condition around it', '# site\nif [ -e /x ]; then\n  GRUB_CMDLINE_LINUX=a\nfi', 2, 'from a file with conditions or loops'],
  ])('refuses %s, naming the file and the line', async (_what, text, line, problem) => {
    const root = await treeWith({ 'etc/default/grub': DEBIAN_STOCK, 'etc/default/grub.d/50-site.cfg': `${text}\n` });
    const r = await treeKernelArgs(root);
    expect(!r.ok && r.error).toEqual({ reason: 'tree-config', file: '/etc/default/grub.d/50-site.cfg', line, message: expect.stringContaining(problem), hint: expect.stringContaining('GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX net.ifnames=0"') });
  });
});
