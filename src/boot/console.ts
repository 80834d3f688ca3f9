// What a booting guest's serial console says: whether it reached the login
// prompt (or the caller's marker), and its last lines for a failure.

/**
 * getty's prompt (`<host> login: `) at the start of a line. Kernel messages
 * may follow it on the same line, so the prompt need not end it.
 */
export const LOGIN_PROMPT = /^\S+ login: /m;

/** Lines of console a failure shows. */
export const CONSOLE_TAIL_LINES = 40;

/** The console as text to match: carriage returns dropped. */
export function consoleText(raw: string): string {
  return raw.replace(/\r/g, '');
}

/** True once the console shows `expect` (default: the login prompt). */
export function consoleShows(raw: string, expect: RegExp = LOGIN_PROMPT): boolean {
  return expect.test(consoleText(raw));
}

/** The last lines of the console, with terminal escape sequences removed. */
export function consoleTail(raw: string, count = CONSOLE_TAIL_LINES): string[] {
  const lines = consoleText(raw).replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').replace(/\x1b[()][A-Z0-9]/g, '').split('\n');
  while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
  return lines.slice(-count);
}
