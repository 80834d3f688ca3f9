import { describe, expect, it } from 'vitest';
import { listDistros, loadDistro } from '../../../src/distro/load-distro.js';
import { unwrap } from '../../../src/failure.js';
import { glanceProperties } from '../../../src/manifest/glance-properties.js';

const GIB = 1024 ** 3;
const distro = { name: 'debian', release: 'bookworm', arch: 'amd64' };

describe('glanceProperties', () => {
  it('derives the common and hw_* properties from distro, layout and size', () => {
    expect(glanceProperties({ output: { format: 'qcow2', virtualSize: 2 * GIB + 1 }, distro, firmware: 'both' })).toEqual({
      disk_format: 'qcow2',
      container_format: 'bare',
      min_disk: 3,
      min_ram: 512,
      os_distro: 'debian',
      os_version: '12',
      os_type: 'linux',
      architecture: 'x86_64',
      hw_disk_bus: 'virtio',
    });
  });

  it('asks for UEFI with Secure Boot required on q35 for a Secure Boot layout', () => {
    const props = glanceProperties({ output: { format: 'qcow2', virtualSize: GIB }, distro, firmware: 'uefi-secure-boot' });
    expect(props).toMatchObject({ hw_firmware_type: 'uefi', os_secure_boot: 'required', hw_machine_type: 'q35' });
    for (const firmware of ['uefi', 'bios', 'both', null] as const) {
      const other = glanceProperties({ output: { format: 'qcow2', virtualSize: GIB }, distro, firmware });
      expect([other?.os_secure_boot, other?.hw_machine_type]).toEqual([undefined, undefined]);
    }
  });

  it('sets hw_firmware_type only for UEFI-only layouts', () => {
    expect(glanceProperties({ output: { format: 'raw', virtualSize: GIB }, distro, firmware: 'uefi' })?.hw_firmware_type).toBe('uefi');
    expect(glanceProperties({ output: { format: 'raw', virtualSize: GIB }, distro, firmware: 'bios' })?.hw_firmware_type).toBeUndefined();
    expect(glanceProperties({ output: { format: 'raw', virtualSize: GIB }, distro, firmware: 'both' })?.hw_firmware_type).toBeUndefined();
  });

  it('rounds min_disk up, names vpc vhd, takes min_ram, and has nothing for tar', () => {
    expect(glanceProperties({ output: { format: 'raw', virtualSize: GIB }, distro, firmware: null })?.min_disk).toBe(1);
    expect(glanceProperties({ output: { format: 'vpc', virtualSize: GIB }, distro, firmware: null })?.disk_format).toBe('vhd');
    expect(glanceProperties({ output: { format: 'raw', virtualSize: GIB }, distro, firmware: null, minRam: 2048 })?.min_ram).toBe(2048);
    expect(glanceProperties({ output: { format: 'tar', virtualSize: GIB }, distro, firmware: null })).toBeNull();
    expect(glanceProperties({ output: { format: 'raw', virtualSize: GIB }, distro: { name: 'debian', release: 'sid', arch: 'arm64' }, firmware: null })).toMatchObject({ os_version: 'sid', architecture: 'aarch64' });
  });

  it('names every Debian release the distros directory knows as libosinfo does: os_distro debian, os_version its number', async () => {
    const names = await listDistros();
    expect(names.length).toBeGreaterThan(1);
    for (const name of names) {
      const d = unwrap(await loadDistro(name));
      // The manifest carries the distro directory's name (debian-bookworm), as the build records it.
      const p = glanceProperties({ output: { format: 'qcow2', virtualSize: GIB }, distro: { name: d.name, release: d.release, arch: d.arch }, firmware: null })!;
      const number = /^Debian (\d+) /.exec(d.description)?.[1];
      expect({ name, os_distro: p.os_distro, os_version: p.os_version }).toEqual({ name, os_distro: 'debian', os_version: number });
    }
  });

  it('the quick start distro debian-bookworm is debian 12', () => {
    expect(glanceProperties({ output: { format: 'raw', virtualSize: GIB }, distro: { name: 'debian-bookworm', release: 'bookworm', arch: 'amd64' }, firmware: null })).toMatchObject({ os_distro: 'debian', os_version: '12' });
  });
});
