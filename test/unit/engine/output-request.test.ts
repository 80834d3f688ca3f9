import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildDir } from '../../../src/engine/build-dir.js';
import { outputRequest, type OutputOptions } from '../../../src/engine/output-request.js';
import { DEFAULT_DISTRO, loadDistro } from '../../../src/distro/load-distro.js';
import { FailureError, unwrap } from '../../../src/failure.js';
import { BUILTIN_LAYOUT_DIR } from '../../../src/image/layout-load.js';
import { scratchDir } from '../../support/run-dir.js';

const GOLDEN_EFI_LAYOUT_KEY = 'sha256:e871ea8f4ebe02b425983115c4b53be4af4e1a213e2f5c2c509c3509050dd4eb';

async function options(disk: Partial<OutputOptions['disk']>, types: OutputOptions['outputs']['types'] = ['qcow2']): Promise<OutputOptions> {
  return {
    graph: { elements: [] } as never,
    distro: unwrap(await loadDistro(DEFAULT_DISTRO)),
    imageName: 'img',
    outputs: { types, outputDir: await scratchDir('out') },
    disk: { layout: 'efi', compress: true, ...disk },
    declared: {},
    sourceDateEpoch: null,
  };
}

const dir = { hooks: '/nonexistent/hooks' } as BuildDir;

/** The epoch and no DIB libraries: what these tests do not look at. */
const AT = { epoch: 1700000000, dibLib: null, vars: {} };

describe('outputRequest', () => {
  it('parses the size options once, into bytes, keeping the text for the key', async () => {
    const { request, diskKey } = await outputRequest(await options({ imageSize: '8GiB', extraSize: '512MiB' }), dir, AT);
    expect(request.disk).toMatchObject({ imageSize: { text: '8GiB', bytes: 8 * 1024 ** 3 }, extraSize: { text: '512MiB', bytes: 512 * 1024 ** 2 } });
    expect(diskKey).toMatchObject({ imageSize: '8GiB', extraSize: '512MiB' });
  });

  it('refuses a size that is not one, naming the flag', async () => {
    for (const [flag, disk] of [['--image-size', { imageSize: '8 parsecs' }], ['--image-extra-size', { extraSize: 'lots' }]] as const) {
      const e = await outputRequest(await options(disk), dir, AT).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(FailureError);
      expect((e as FailureError).failure).toMatchObject({ reason: 'usage', message: expect.stringMatching(new RegExp(`^${flag}: `)), hint: 'write sizes like 8GiB or 512MiB' });
    }
  });

  it('asks nothing of the disk options when only a tree archive is wanted', async () => {
    const { request, diskKey } = await outputRequest(await options({ imageSize: 'not a size' }, ['tar']), dir, AT);
    expect(request.disk).toBeUndefined();
    expect(diskKey).toBeNull();
  });

  it('keys the layout by its content: the layouts made before Secure Boot keep their keys, a Secure Boot layout has its own', async () => {
    const layoutKey = async (layout: string): Promise<unknown> => ((await outputRequest(await options({ layout }), dir, AT)).diskKey as { layout: unknown }).layout;
    // Golden: what every build with these layouts has keyed its images by so far.
    expect(await layoutKey('efi')).toBe(GOLDEN_EFI_LAYOUT_KEY);
    const sb = await layoutKey('efi-secureboot');
    expect(sb).not.toBe(GOLDEN_EFI_LAYOUT_KEY);
    // The same partitions without `secureBoot: true` (an ESP with unsigned GRUB) must not share its key.
    const file = path.join(await scratchDir('layout'), 'no-sb.yaml');
    await writeFile(file, (await readFile(path.join(BUILTIN_LAYOUT_DIR, 'efi-secureboot.yaml'), 'utf8')).replace(/^secureBoot: true$/m, ''));
    expect(await layoutKey(file)).not.toBe(sb);
  });

  it('compresses qcow2 with zstd by default; zlib keeps the key it always had, so caches made before still hit', async () => {
    const zstd = await outputRequest(await options({}), dir, AT);
    const zlib = await outputRequest(await options({ qcow2Compression: 'zlib' }), dir, AT);
    const none = await outputRequest(await options({ compress: false }), dir, AT);
    expect([zstd, zlib, none].map((r) => r.request.disk?.compression)).toEqual(['zstd', 'zlib', 'none']);
    expect(zstd.diskKey).toMatchObject({ compress: true, codec: 'zstd' });
    expect(zlib.diskKey).toMatchObject({ compress: true });
    expect(zlib.diskKey).not.toHaveProperty('codec');
    expect(none.diskKey).toMatchObject({ compress: false });
    expect(none.diskKey).not.toHaveProperty('codec');
  });

  it('gives block-device.d hooks the environment every other hook has: $_LIB, IMAGE_NAME, IMAGE_ELEMENT, the epoch', async () => {
    const { request } = await outputRequest(await options({}), dir, { epoch: 1234, dibLib: '/usr/lib/python3/dist-packages/diskimage_builder/lib', vars: {} });
    expect(request.disk?.hookEnv).toMatchObject({ _LIB: '/usr/lib/python3/dist-packages/diskimage_builder/lib', IMAGE_NAME: 'img', IMAGE_ELEMENT: '', SOURCE_DATE_EPOCH: '1234' });
    expect(request.disk?.sourceDateEpoch).toBe(1234);
  });

  it("takes diskimage-builder's layout: DIB_BLOCK_DEVICE_CONFIG (file:// or the YAML itself) over the block-device element's block-device-default.yaml", async () => {
    const { loadElement } = await import('../../../src/elements/load-element.js');
    const mbr = unwrap(await loadElement('block-device-mbr', '/usr/lib/python3/dist-packages/diskimage_builder/elements/block-device-mbr', 'dib'));
    const graph = { elements: [mbr], providedBy: new Map([['block-device', 'block-device-mbr']]) } as never;
    const layoutOf = async (declared: Record<string, string>) => (await outputRequest({ ...(await options({ layout: undefined })), graph, declared }, dir, AT)).request.disk?.layout;
    expect(await layoutOf({})).toMatchObject({ table: 'mbr', source: '/usr/lib/python3/dist-packages/diskimage_builder/elements/block-device-mbr/block-device-default.yaml' });
    const gpt = '/usr/lib/python3/dist-packages/diskimage_builder/elements/block-device-gpt/block-device-default.yaml';
    expect(await layoutOf({ DIB_BLOCK_DEVICE_CONFIG: `file://${gpt}` })).toMatchObject({ table: 'gpt', source: gpt });
    expect(await layoutOf({ DIB_BLOCK_DEVICE_CONFIG: await readFile(gpt, 'utf8') })).toMatchObject({ table: 'gpt', source: 'DIB_BLOCK_DEVICE_CONFIG' });
    const refused = await outputRequest({ ...(await options({ layout: undefined })), graph, declared: { DIB_BLOCK_DEVICE_CONFIG: '- local_loop: {name: image0}\n- lvm: {name: lvm, base: [root]}\n' } }, dir, AT).catch((e: unknown) => e);
    expect((refused as FailureError).failure).toMatchObject({ reason: 'bad-layout', file: 'DIB_BLOCK_DEVICE_CONFIG', message: expect.stringContaining('`lvm`: LVM volumes are not supported') });
  });

  it("writes grub.cfg as DIB's bootloader element would have: its kernel command line and timeout from its variables, keyed", async () => {
    const { loadElement } = await import('../../../src/elements/load-element.js');
    const bootloader = unwrap(await loadElement('bootloader', '/usr/lib/python3/dist-packages/diskimage_builder/elements/bootloader', 'dib'));
    const graph = { elements: [bootloader], providedBy: new Map() } as never;
    const withVars = async (vars: Record<string, string>) => outputRequest({ ...(await options({})), graph }, dir, { ...AT, vars });
    // What its environment.d sets when nothing is declared (read back by condition-vars.ts).
    const dib = await withVars({ DIB_BOOTLOADER_DEFAULT_CMDLINE: 'nofb nomodeset gfxpayload=text', DIB_BOOTLOADER_SERIAL_CONSOLE: '' });
    expect(dib.request.disk?.boot).toEqual({ kernelArgs: 'console=tty0 console=ttyS0,115200 no_timer_check nofb nomodeset gfxpayload=text', timeout: 5 });
    const serial = await withVars({ DIB_BOOTLOADER_DEFAULT_CMDLINE: '', DIB_BOOTLOADER_SERIAL_CONSOLE: 'ttyS1,9600', DIB_GRUB_TIMEOUT: '0' });
    expect(serial.request.disk?.boot).toEqual({ kernelArgs: 'console=tty0 console=ttyS1,9600 no_timer_check', timeout: 0 });
    expect(serial.diskKey).not.toEqual(dib.diskKey);
    expect(dib.diskKey).toMatchObject({ kernelArgs: 'console=tty0 console=ttyS0,115200 no_timer_check nofb nomodeset gfxpayload=text', grubTimeout: 5 });
    // Without DIB's bootloader: imgfactory's own, keyed as before.
    const own = await outputRequest(await options({}), dir, AT);
    expect(own.request.disk?.boot).toBeUndefined();
    expect(own.diskKey).toMatchObject({ kernelArgs: 'console=tty0 console=ttyS0,115200 no_timer_check' });
    expect(own.diskKey).not.toHaveProperty('grubTimeout');
    const bad = await withVars({ DIB_GRUB_TIMEOUT: 'soon' }).catch((e: unknown) => e);
    expect((bad as FailureError).failure).toMatchObject({ reason: 'usage', message: 'DIB_GRUB_TIMEOUT=soon: not a whole number of seconds' });
  });
});
