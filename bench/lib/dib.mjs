// diskimage-builder's environment and command line for the bench scripts
// that run Debian's disk-image-create (dib-compare.mjs, dib-elements.mjs).
// disk-image-create runs from the test tools tree (scripts/test-tools, which
// has DIB and the sudo it calls), not from the host, seeing the work dir.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TEST_TOOLS = fileURLToPath(new URL('../../scripts/test-tools', import.meta.url));

/** `disk-image-create args…` in the test tools tree with `work` bound: [file, args] for `timed`. */
export function dibCommand(work, args) {
  return [TEST_TOOLS, ['run', '--bind', work, '--', 'disk-image-create', ...args]];
}

/**
 * DIB building bookworm from deb.debian.org, with its own image cache and
 * TMPDIR under `work`, and `elementsPath` (when given) as ELEMENTS_PATH: DIB
 * finds its own elements without it.
 */
export function dibEnvironment(work, elementsPath) {
  return {
    ...(elementsPath ? { ELEMENTS_PATH: elementsPath } : {}),
    DIB_RELEASE: 'bookworm',
    DIB_DISTRIBUTION_MIRROR: 'http://deb.debian.org/debian',
    // debian-minimal's default security line for bookworm is
    // "<mirror> bookworm/updates", which does not exist: the suite is
    // bookworm-security on deb.debian.org/debian-security.
    DIB_DEBIAN_SECURITY_MIRROR: 'http://deb.debian.org/debian-security',
    DIB_DEBIAN_SECURITY_SUBPATH: '-security',
    DIB_IMAGE_CACHE: path.join(work, 'dib-cache'),
    TMPDIR: path.join(work, 'dib-tmp'),
  };
}
