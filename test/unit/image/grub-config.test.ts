// grub.cfg boots the tree's /vmlinuz with DIB's kernel command line: the
// serial port last, so that it is /dev/console and what services write to
// the console (os-collect-config's os-refresh-config runs) reaches the
// console log a cloud keeps; the line is part of the disk image's key.
import { describe, expect, it } from 'vitest';
import { diskKeySettings } from '../../../src/engine/disk-output.js';
import { DEFAULT_KERNEL_ARGS, grubCfg } from '../../../src/image/grub-config.js';

const UUID = '0f7e2b5e-6f0c-4a8e-9a51-3c1d2e4f5a6b' as Parameters<typeof grubCfg>[0]['rootUuid'];

describe('grubCfg', () => {
  it("boots with DIB's command line, the serial console last (so /dev/console is ttyS0)", () => {
    const linux = grubCfg({ rootUuid: UUID }).split('\n').find((l) => l.trim().startsWith('linux '))!;
    expect(linux.trim()).toBe(`linux /vmlinuz root=UUID=${UUID} ro console=tty0 console=ttyS0,115200 no_timer_check`);
    expect([...linux.matchAll(/console=(\S+)/g)].map((m) => m[1]).at(-1)).toBe('ttyS0,115200');
  });

  it('puts the command line in the disk key', async () => {
    const key = (await diskKeySettings({ layout: {}, compression: 'zstd', blockDeviceHooks: [], sourceDateEpoch: 0 } as never, {})) as { kernelArgs?: string };
    expect(key.kernelArgs).toBe(DEFAULT_KERNEL_ARGS);
  });
});
