// Text made safe for one row of a terminal: what a hook prints may hold
// escape sequences (colours, cursor moves), carriage returns, tabs and wide
// characters, any of which would move the cursor away from the row the status
// line owns or wrap it onto a second row that `\r\x1b[K` no longer erases.

/** ESC sequences (CSI, OSC, two-byte), then any C0/C1 control character or DEL. */
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])?|[\x00-\x1f\x7f-\x9f]/g;

/** `text` without escape sequences or control characters; runs of white space become one space. */
export function plainText(text: string): string {
  return text.replace(/[\t\r\n\v\f]+/g, ' ').replace(ESCAPES, '').replace(/ {2,}/g, ' ');
}

/**
 * Columns a code point takes: 0 for combining marks and zero-width ones, 2
 * for East Asian wide and fullwidth ones and emoji, else 1 (the ranges of
 * Unicode's EastAsianWidth W/F that terminals draw wide).
 */
export function columnsOf(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** The longest start of plain `text` that fits in `columns` columns. */
export function fitColumns(text: string, columns: number): string {
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const w = columnsOf(ch.codePointAt(0)!);
    if (used + w > columns) break;
    used += w;
    end += ch.length;
  }
  return text.slice(0, end);
}
