// Host programs are found by absolute path; a missing one is a host-missing
// failure that names the Debian package and the setup command installing it
// (booting's tools come with `scripts/setup --boot`, not with plain setup).
import { describe, expect, it } from 'vitest';
import { findTool, requireTool } from '../../../src/sandbox/host-tools.js';
import { failureOf } from '../../support/failure-of.js';

describe('requireTool', () => {
  it('finds a program in the system directories by absolute path', async () => {
    expect(await requireTool('sh', 'dash')).toBe(await findTool('sh'));
    expect(await findTool('sh')).toMatch(/^\/(usr\/)?s?bin\/sh$/);
  });

  it('names the package and the setup command for a program the host lacks', async () => {
    expect(await failureOf(requireTool('imgfactory-no-such-tool', 'no-such-package'))).toEqual({ reason: 'host-missing', what: 'imgfactory-no-such-tool', hint: 'apt-get install no-such-package (or run scripts/setup)' });
    expect(await failureOf(requireTool('imgfactory-no-such-tool', 'qemu-system-x86 ovmf', 'scripts/setup --boot'))).toMatchObject({ hint: 'apt-get install qemu-system-x86 ovmf (or run scripts/setup --boot)' });
  });
});
