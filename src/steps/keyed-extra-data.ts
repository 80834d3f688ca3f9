// extra-data.d hooks known to read nothing from the host beyond what their
// keys already hold. An extra-data.d step runs in every build and is keyed by
// the layer it made (hook.ts readsHost, docs/cache.md), because what such a
// hook reads is named nowhere. Some of diskimage-builder's own do not read the
// host at all: they copy files of the image's elements (keyed by their
// digests), write what declared variables say (keyed), or copy DIB's shell
// library (keyed with the shared environment). Those were read line by line
// and are listed here by the sha256 of their bytes, so a copy that was edited,
// or another DIB version's, is not taken on trust. Each runs as a step keyed
// by its inputs, and a no-op rebuild does not run it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** sha256 of the script -> where it was reviewed (DIB 3.13, Debian's python3-diskimage-builder) and what it reads. */
const REVIEWED: ReadonlyMap<string, string> = new Map([
  ['b4ad5fd484f86a68f164ec9e6d7dedad7d2150ac71c6493e48b8c1d64bce1f3d', 'pkg-map/extra-data.d/10-create-pkg-map-dir: the elements\' pkg-map files'],
  ['44ef5856f2cd2622227e9b67e2babd31626566566671f20a638f0ed140bf922d', 'manifests/extra-data.d/20-manifest-dir: DIB_MANIFEST_IMAGE_DIR'],
  ['9caa1d57a05253748579acb833e02e4b1c7b68d1b74e5181f4895109fd53bd61', 'modprobe/extra-data.d/50-modprobe-blacklist: the elements\' modprobe.d files'],
  ['f4bbea819a0889056a51309d2e881a56c8feab9be54a9ee4839e83bd6475e253', 'svc-map/extra-data.d/10-merge-svc-map-files: the elements\' svc-map files, DISTRO_NAME'],
  ['bb79423f977a99e4a26fd68bcbf48151a75a5a0eda84d3bf91f98a09d7aaeed7', 'svc-map/extra-data.d/11-copy-svc-map-file: the tree\'s /tmp'],
  ['2193975851b4c9567b3e29f288e5a1e045bcb7724b5fddfd3061bdca6492f73b', 'element-manifest/extra-data.d/75-inject-element-manifest: IMAGE_ELEMENT'],
  ['631949bc3fd09c7d69c602b91221890c88cce0e9d13915fb9342ff332f28cbb3', 'select-boot-kernel-initrd/extra-data.d/99-copy-dib-img-functions: $_LIB/img-functions'],
]);

const seen = new Map<string, boolean>();

/** Whether the hook at `scriptPath` is one of the reviewed ones (by its bytes now). */
export function readsOnlyItsInputs(scriptPath: string): boolean {
  let known = seen.get(scriptPath);
  if (known === undefined) {
    known = REVIEWED.has(createHash('sha256').update(readFileSync(scriptPath)).digest('hex'));
    seen.set(scriptPath, known);
  }
  return known;
}
