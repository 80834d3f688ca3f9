// The manifest's shape: what one build produced (output files and their
// hashes), from what (elements, layer keys, distro, packages, inputs), and the
// Glance properties to publish it with. Documented in docs/manifest.md,
// validated by schema.ts, serialised by canonical.ts.

/** Bump when a field's meaning changes; readers refuse versions they do not know. */
export const MANIFEST_SCHEMA = 'imgfactory.manifest.v1';

/** Lower-case hex digests, brand-kept apart so an md5 is never passed as a sha256. */
export type { Md5Hex, Sha256Hex, Sha512Hex } from '../util/hash-file.js';
import type { Md5Hex, Sha256Hex, Sha512Hex } from '../util/hash-file.js';

/** One output file, named relative to the manifest's directory. */
export interface ManifestOutput {
  /** Base name of the file, beside the manifest. */
  name: string;
  /** `qcow2`, `raw`, `tar`, ...: also Glance's disk_format for disk images. */
  format: string;
  size: number;
  /** What the guest sees (qemu-img info); equals `size` for raw and tar. */
  virtualSize: number;
  sha256: Sha256Hex;
  /** Glance's `os_hash_value` with the default os_hash_algo. */
  sha512: Sha512Hex;
  /** Glance's `checksum`. */
  md5: Md5Hex;
}

export interface ManifestElement {
  name: string;
  /** digestTree of the element directory (`sha256:<hex>`). */
  digest: string;
  /** Where it was loaded from (an element directory on the search path). */
  origin: string;
}

export interface ManifestPackage {
  name: string;
  version: string;
  arch: string;
}

/** Properties for Glance, string-valued except the two sizes Glance keeps as integers. */
export interface GlanceProperties {
  disk_format: string;
  container_format: 'bare';
  /** GiB, rounded up from the virtual size. */
  min_disk: number;
  /** MiB. */
  min_ram: number;
  [property: string]: string | number;
}

/** One suite of the archive as the build saw it: which release file, its sha256 and its Date:. */
export interface ManifestSuite {
  suite: string;
  url: string;
  /** Lower-case hex. */
  sha256: string;
  date: string;
}

/**
 * The archive state the build's network steps were keyed with
 * (distro/archive-state.ts), and where it came from: read from the archive
 * (`archive`), the cache's record (`cache`, --archive-state cached) or a file.
 */
export interface ManifestArchive {
  from: 'archive' | 'cache' | 'file';
  suites: ManifestSuite[];
}

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  image: string;
  /** Free-form label of this build (a release or commit); empty when not given. */
  tag: string;
  outputs: ManifestOutput[];
  /** In build order. */
  elements: ManifestElement[];
  /** The layer key chain, in order. */
  layerKeys: string[];
  /** The sha256 of each step's layer blob, in the same order: the bytes each step wrote (`build --check` compares them). Absent in manifests of earlier versions. */
  layers?: string[];
  distro: { name: string; release: string; arch: string };
  packages: ManifestPackage[];
  tool: { name: 'imgfactory'; version: string };
  /** SOURCE_DATE_EPOCH of the build (null only in manifests of earlier versions, built without one). */
  sourceDateEpoch: number | null;
  /** Where it came from: --source-date-epoch (`given`), the archive state's newest Date (`archive`), or imgfactory's fixed default. */
  sourceDateEpochFrom?: 'given' | 'archive' | 'default';
  /** The build's declared inputs (environment variables that reach the hooks, options); never a secret. */
  inputs: Record<string, string>;
  /** The ids of the secrets hooks were offered (`--secret`), sorted; never a value. Absent when there were none. */
  secrets?: string[];
  /** The archive state the build installed from; absent when it had no network step (and in manifests of earlier versions). */
  archive?: ManifestArchive;
  layout: { name: string; firmware: Firmware } | null;
  /** Per output format: the Glance properties to set. */
  glance: Record<string, GlanceProperties>;
}

/** What the image boots with; `uefi-secure-boot`: UEFI with Secure Boot enforced (signed shim and GRUB). */
export type Firmware = 'bios' | 'uefi' | 'both' | 'uefi-secure-boot';

/** `<image>.manifest.json`, and what sits beside it. */
/** `<image>[-<tag>]`: the stem of a build's output file names (a tag, e.g. a commit, keeps per-commit builds apart). */
export const outputStem = (image: string, tag?: string): string => (tag ? `${image}-${tag}` : image);
export const manifestFileName = (image: string, tag?: string): string => `${outputStem(image, tag)}.manifest.json`;
export const provenanceFileName = (image: string, tag?: string): string => `${outputStem(image, tag)}.provenance.json`;
export const signatureFileName = (manifestFile: string): string => `${manifestFile}.sig`;
