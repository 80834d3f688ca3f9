// The Glance properties an output is published with, derived from the
// distro, the disk layout and the file itself. Names follow Glance's
// "common image properties" and Nova's hw_* metadata:
//   disk_format       from the format's row (src/output/formats.ts): vpc is vhd in Glance
//   container_format  from the row too: bare, the file is the disk itself
//   min_disk          GiB, the virtual size rounded up (a smaller root disk cannot hold it)
//   min_ram           MiB, what the caller says (default 512)
//   os_distro/os_version/os_type, architecture   for schedulers and humans: libosinfo's
//                     names (debian, 12), as Glance's useful-image-properties ask
//   hw_disk_bus       virtio: our images carry virtio drivers in the initramfs
//   hw_firmware_type  uefi only when the layout cannot boot with BIOS
//   os_secure_boot, hw_machine_type   for a Secure Boot layout (SECURE_BOOT)
import { formatById } from '../output/formats.js';
import type { Firmware, GlanceProperties, ManifestOutput } from './manifest.js';

const GIB = 1024 * 1024 * 1024;

/** Release code names to the version numbers os_version carries (libosinfo style). */
const VERSIONS: Record<string, Record<string, string>> = {
  debian: { buster: '10', bullseye: '11', bookworm: '12', trixie: '13', forky: '14' },
  ubuntu: { focal: '20.04', jammy: '22.04', noble: '24.04' },
};

/**
 * The libosinfo distro name (`debian`) of a distro as the manifest records it:
 * the distros directory's name (`debian-bookworm`) or the bare family. A name
 * the table does not know is passed on, lower-cased.
 */
function osDistro(name: string): string {
  const lower = name.toLowerCase();
  return Object.keys(VERSIONS).find((family) => lower === family || lower.startsWith(`${family}-`)) ?? lower;
}

/** dpkg architecture names to Glance's `architecture` (uname -m style). */
const ARCH: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', i386: 'i686', ppc64el: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/**
 * A Secure Boot image (layout `secureBoot`) boots only on UEFI firmware that
 * enforces it: Nova then gives the guest OVMF with Microsoft's keys
 * enrolled, which libvirt offers only on the q35 machine type (SMM).
 */
const SECURE_BOOT = { hw_firmware_type: 'uefi', os_secure_boot: 'required', hw_machine_type: 'q35' } as const;

export interface PropertyInput {
  output: Pick<ManifestOutput, 'format' | 'virtualSize'>;
  distro: { name: string; release: string; arch: string };
  firmware: Firmware | null;
  /** MiB; default 512. */
  minRam?: number;
}

/** The properties for one disk output; null for outputs Glance cannot boot (tar). */
export function glanceProperties(i: PropertyInput): GlanceProperties | null {
  const glance = formatById(i.output.format)?.glance;
  if (!glance) return null;
  const distro = osDistro(i.distro.name);
  const props: GlanceProperties = {
    disk_format: glance.diskFormat,
    container_format: glance.containerFormat,
    min_disk: Math.max(1, Math.ceil(i.output.virtualSize / GIB)),
    min_ram: i.minRam ?? 512,
    os_distro: distro,
    os_version: VERSIONS[distro]?.[i.distro.release] ?? i.distro.release,
    os_type: 'linux',
    architecture: ARCH[i.distro.arch] ?? i.distro.arch,
    hw_disk_bus: 'virtio',
  };
  if (i.firmware === 'uefi') props.hw_firmware_type = 'uefi';
  if (i.firmware === 'uefi-secure-boot') Object.assign(props, SECURE_BOOT);
  return props;
}
