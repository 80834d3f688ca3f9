import { describe, expect, it } from 'vitest';
import { showsLoginPrompt } from '../../support/qemu-boot.js';

describe('showsLoginPrompt', () => {
  it('sees the prompt when kernel messages follow it on the same line', () => {
    // As printed by a KVM guest in CI: the watchdog message lands right after the prompt.
    const log = 'Debian GNU/Linux 12 localhost ttyS0\r\n\r\nlocalhost login: [   33.534652] clocksource: timekeeping watchdog\r\n';
    expect(showsLoginPrompt(log)).toBe(true);
  });

  it('sees a prompt that ends the console', () => {
    expect(showsLoginPrompt('Debian GNU/Linux 12 localhost ttyS0\n\nlocalhost login: ')).toBe(true);
  });

  it('does not take boot messages that mention login for the prompt', () => {
    const log = '[  OK  ] Started systemd-logind.service - User Login Management.\n[  OK  ] Reached target getty.target - Login Prompts.\n';
    expect(showsLoginPrompt(log)).toBe(false);
  });
});
