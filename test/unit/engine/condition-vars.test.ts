import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Element } from '../../../src/elements/element.js';
import { loadElement } from '../../../src/elements/load-element.js';
import { conditionNames } from '../../../src/engine/condition-vars.js';
import { unwrap } from '../../../src/failure.js';
import { FIXTURES } from '../../support/fixtures.js';

const BUILD = path.join(FIXTURES, 'elements', 'build');

describe('conditionNames', () => {
  it('asks for the variables install-types chooses with, only when install-types is in the image', async () => {
    const typed = unwrap(await loadElement('typed', path.join(BUILD, 'typed'), BUILD));
    const installTypes: Element = { ...typed, name: 'install-types', dir: '/dib/install-types', hooks: {}, installTypes: [] };
    expect(conditionNames([typed])).toEqual([]);
    expect(conditionNames([typed, installTypes])).toEqual(['DIB_DEFAULT_INSTALLTYPE', 'DIB_INSTALLTYPE_typed']);
    expect(conditionNames([installTypes])).toEqual([]);
  });

  it("asks for the variables DIB's bootloader writes the boot loader's settings from, with it in the image", async () => {
    const dib = '/usr/lib/python3/dist-packages/diskimage_builder/elements';
    const bootloader = unwrap(await loadElement('bootloader', path.join(dib, 'bootloader'), dib));
    expect(conditionNames([bootloader])).toEqual(['DIB_BLOCK_DEVICE', 'DIB_BOOTLOADER_DEFAULT_CMDLINE', 'DIB_BOOTLOADER_SERIAL_CONSOLE', 'DIB_GRUB_TIMEOUT']);
    // An element of that name without 50-bootloader is not DIB's.
    expect(conditionNames([{ ...bootloader, hooks: {}, packages: [] }])).toEqual([]);
  });
});
