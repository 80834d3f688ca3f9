// diskimage-builder's runtime as imgfactory gives it to hooks: an element
// providing operating-system makes the tree (no distro bootstrap), an element
// named like a distro's virtual name is that element, DIB's package-installs
// element is replaced by the package steps (said in a note, never a
// collision), and the variables and shell functions DIB hooks call work in
// a real bash.
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../../src/distro/load-distro.js';
import { unwrap } from '../../../src/failure.js';
import { osElement, resolveImage } from '../../../src/graph/resolve.js';
import { planBuild } from '../../../src/plan/plan.js';
import { hookEnv, keyEnv } from '../../../src/steps/hook-env.js';
import { packageSteps } from '../../../src/steps/packages.js';
import type { Element } from '../../../src/elements/element.js';
import { parsePackageInstalls } from '../../../src/elements/package-installs.js';
import { FIXTURES, fixtureIndex } from '../../support/fixtures.js';

const DIB_LIKE = path.join(FIXTURES, 'elements', 'dib-like');
const REPO = path.join(FIXTURES, '..', '..', 'elements');

async function graphOf(names: string[]) {
  const distro = unwrap(await loadDistro('debian-bookworm'));
  return { distro, graph: unwrap(resolveImage(names, { index: await fixtureIndex(DIB_LIKE, REPO), distro })) };
}

describe("diskimage-builder's element model", () => {
  it('an element providing operating-system takes over from the distro, with a note, and the plan has no bootstrap', async () => {
    const { distro, graph } = await graphOf(['os-maker']);
    expect(osElement(graph)?.name).toBe('os-maker');
    expect(graph.notes).toEqual(['operating-system: provided by the element os-maker, whose hooks make the tree (not the debian-bookworm bootstrap)']);
    const plan = unwrap(planBuild(graph, distro, { vars: {}, skipPhases: ['block-device.d'] }));
    expect(plan.steps[0]!.id).toBe('os-maker/root.d/10-make-tree');
    expect(plan.steps.some((s) => s.kind === 'base')).toBe(false);
  });

  it('an element named like a virtual name of the distro is that element, never silently shadowed', async () => {
    const { graph } = await graphOf(['debian']);
    expect(graph.elements.map((e) => e.name)).toContain('debian');
    expect(graph.notes).toContain(`debian: the element ${path.join(DIB_LIKE, 'debian')} is used, not the distro's virtual name "debian"`);
    expect(osElement(graph)?.name).toBe('os-maker');
  });

  it("replaces DIB's package-installs hooks with the package steps, says so, and still installs its packages", async () => {
    const { distro, graph } = await graphOf(['package-installs']);
    const plan = unwrap(planBuild(graph, distro, { vars: {}, skipPhases: ['block-device.d'] }));
    expect(plan.steps.filter((s) => s.kind === 'hook' && s.element === 'package-installs')).toEqual([]);
    expect(plan.steps.find((s) => s.kind === 'packages')).toMatchObject({ id: 'package-installs/install.d/01-package-installs', packages: [{ name: 'vim', element: 'package-installs' }] });
    expect(plan.notes).toEqual([`package-installs (${path.join(DIB_LIKE, 'package-installs')}): its hooks are replaced by imgfactory's own package steps, which read the same package-installs files`]);
  });

  it("replaces DIB's bootloader hook (grub-install on a loop device) by imgfactory's boot loader install, says so, and installs the GRUB packages it would", async () => {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const dib = '/usr/lib/python3/dist-packages/diskimage_builder/elements';
    const graph = unwrap(resolveImage(['os-maker', 'bootloader'], { index: await fixtureIndex(DIB_LIKE, dib, REPO), distro }));
    const planned = (vars: Record<string, string>) => unwrap(planBuild(graph, distro, { vars, skipPhases: ['block-device.d'] }));
    const plan = planned({ DIB_BLOCK_DEVICE: 'mbr' });
    expect(plan.steps.filter((s) => s.kind === 'hook' && s.element === 'bootloader')).toEqual([]);
    expect(plan.notes).toContain(
      `bootloader (${dib}/bootloader): its finalise.d/50-bootloader (grub-install on a loop device, grub-mkconfig) is replaced by imgfactory's own boot loader install into the disk image; the GRUB packages it installs are installed in finalise.d`,
    );
    const grub = (p: typeof plan) => p.steps.find((s) => s.kind === 'packages' && s.phase === 'finalise.d');
    // As 50-bootloader chooses: by DIB_BLOCK_DEVICE, names through bootloader's pkg-map.
    expect(grub(plan)).toMatchObject({ id: 'package-installs/finalise.d/01-package-installs', packages: [{ name: 'grub-pc', element: 'bootloader' }] });
    expect((grub(planned({ DIB_BLOCK_DEVICE: 'efi' })) as { packages: { name: string }[] }).packages.map((p) => p.name)).toEqual(['efibootmgr', 'grub-efi', 'grub-pc-bin']);
  });

  it('maps names through pkg-map as DIB does: an empty mapping skips the package, several words are several packages', async () => {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const parsed = parsePackageInstalls('grub-efi-amd64:\ncloud-initramfs-growroot:\nvim:\n');
    if (!parsed.ok) throw new Error(parsed.message);
    const element = { name: 'bootloader', dir: '/x', origin: '/x', overrides: [], description: '', deps: [], provides: [], hooks: {}, installTypes: [], environmentD: [], packages: parsed.packages, packagesFile: null, blockDevice: null, volatilePaths: [], hasBin: false, hasStatic: false, warnings: [], pkgMap: { default: { 'grub-efi-amd64': 'grub-efi grub-pc-bin', 'cloud-initramfs-growroot': '' } } } as Element;
    expect(packageSteps([element], distro, {})[0]!.packages.map((p) => p.name)).toEqual(['grub-efi', 'grub-pc-bin', 'vim']);
  });

  it("gives hooks DIB's variables and functions, working in bash, and keys none of the host paths", async () => {
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const elements = [{ name: 'b', dir: '/src/one/b' }, { name: 'a', dir: '/src/two/a' }];
    const env = hookEnv({ place: 'outside', distro, hooksDir: '/build/hooks', declared: {}, sourceDateEpoch: null, dibLib: '/usr/lib/dib', image: { name: 'img', elements } });
    expect(env).toMatchObject({ _LIB: '/usr/lib/dib', DIB_OFFLINE: '', DIB_DEFAULT_INSTALLTYPE: 'source', DIB_IMAGE_CACHE: '/build/hooks/.dib-image-cache', DIB_DEBIAN_SECURITY_MIRROR: 'http://deb.debian.org/debian-security', DIB_DEBIAN_SECURITY_SUBPATH: '-security', IMAGE_ELEMENT_YAML: 'a: /src/two/a\nb: /src/one/b\n' });
    const script = 'eval declare -A e=($(get_image_element_array)); echo "${e[a]} ${e[b]}"; (die "went wrong") ; echo "die said $?"';
    const r = await execa('bash', ['-c', script], { env, extendEnv: false, reject: false });
    expect(r.stdout).toBe('/src/two/a /src/one/b\nwent wrong\ndie said 0');
    const keyed = JSON.stringify(keyEnv(env, '/build/hooks', elements));
    expect(keyed).not.toContain('/src/');
    expect(keyed).not.toContain('/build/');
  });
});
