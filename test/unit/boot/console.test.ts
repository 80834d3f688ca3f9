import { describe, expect, it } from 'vitest';
import { consoleShows, consoleTail } from '../../../src/boot/console.js';

describe('consoleShows (the login prompt by default)', () => {
  it('sees the prompt when kernel messages follow it on the same line', () => {
    // As printed by a KVM guest in CI: the watchdog message lands right after the prompt.
    const log = 'Debian GNU/Linux 12 localhost ttyS0\r\n\r\nlocalhost login: [   33.534652] clocksource: timekeeping watchdog\r\n';
    expect(consoleShows(log)).toBe(true);
  });

  it('sees a prompt that ends the console', () => {
    expect(consoleShows('Debian GNU/Linux 12 localhost ttyS0\n\nlocalhost login: ')).toBe(true);
  });

  it('does not take boot messages that mention login for the prompt', () => {
    const log = '[  OK  ] Started systemd-logind.service - User Login Management.\n[  OK  ] Reached target getty.target - Login Prompts.\n';
    expect(consoleShows(log)).toBe(false);
  });

  it('looks for the caller\'s marker instead when given one', () => {
    const log = 'BdsDxe: failed to load Boot0002 "UEFI Misc Device": Access Denied\r\n';
    expect(consoleShows(log, /Access Denied/)).toBe(true);
    expect(consoleShows(log)).toBe(false);
  });
});

describe('consoleTail', () => {
  it('keeps the last lines, without escape sequences, carriage returns or trailing blank lines', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `\x1b[2J\x1b[01;01Hline ${i}\r`);
    expect(consoleTail(`${lines.join('\n')}\n\n`, 3)).toEqual(['line 47', 'line 48', 'line 49']);
  });
});
